import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { modelFacts, spliceModel } from './onnx-splice';
import { encodeModel, f32Tensor, OnnxType } from './onnx-writer';
import { tinyBackbone } from '../backbones/tiny-models';

const FIXTURE = path.resolve(process.cwd(), '../shared/fixtures/models/dinov2-vits14-random.onnx');

describe('modelFacts', () => {
  it('reads the fixture DINOv2 export: opset 17, pixel_values in, last_hidden_state and pooler_output out', () => {
    const f = modelFacts(fs.readFileSync(FIXTURE));
    expect(f.opset).toBe(17);
    expect(f.inputs).toEqual([{ name: 'pixel_values', elemType: OnnxType.FLOAT }]);
    expect(f.outputs.map((o) => o.name).sort()).toEqual(['last_hidden_state', 'pooler_output']);
    expect(f.externalData).toBe(false);
  });

  it('notices weights kept in an external data file', () => {
    // graph (7) { initializer (5) { data_location (14) = EXTERNAL (1) } }
    const model = new Uint8Array([0x3a, 4, 0x2a, 2, 0x70, 0x01]);
    expect(modelFacts(model).externalData).toBe(true);
  });

  it('refuses bytes that are not a protobuf model', () => {
    expect(() => modelFacts(new Uint8Array([0x3a, 200, 1]))).toThrow(/past|truncated/);
    expect(() => modelFacts(new Uint8Array([0x08, 1]))).toThrow(/no graph/);
  });
});

describe('spliceModel', () => {
  it('puts nodes in front of a model and replaces its input and outputs', async () => {
    // x * 2 feeds the tiny backbone's pixel_values; its pooler_output is doubled after it.
    const spliced = spliceModel(tinyBackbone({ dim: 4, size: 28, patch: 14 }), {
      removeInputs: ['pixel_values'],
      inputs: [{ name: 'x', type: OnnxType.FLOAT, shape: ['batch', 3, 28, 28] }],
      nodesBefore: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['pixel_values'] }],
      nodesAfter: [{ op: 'Mul', inputs: ['pooler_output', 'two'], outputs: ['y'] }],
      initializers: [f32Tensor('two', [], [2])],
      outputs: [{ name: 'y', type: OnnxType.FLOAT, shape: ['batch', 4] }],
    });
    const plain = await ort.InferenceSession.create(tinyBackbone({ dim: 4, size: 28, patch: 14 }));
    const s = await ort.InferenceSession.create(spliced);
    expect(s.inputNames).toEqual(['x']);
    expect(s.outputNames).toEqual(['y']);
    const data = new Float32Array(2 * 3 * 28 * 28).map((_, i) => Math.sin(i));
    const doubled = data.map((v) => v * 2);
    const ref = (await plain.run({ pixel_values: new ort.Tensor('float32', doubled, [2, 3, 28, 28]) })).pooler_output!.data as Float32Array;
    const got = (await s.run({ x: new ort.Tensor('float32', data, [2, 3, 28, 28]) })).y!.data as Float32Array;
    expect(got.length).toBe(8);
    for (let i = 0; i < 8; i++) expect(got[i]).toBeCloseTo(ref[i]! * 2, 5);
    await Promise.all([plain.release(), s.release()]);
  });

  it('keeps every byte of the original graph outside the edited fields', () => {
    const m = encodeModel({
      inputs: [{ name: 'a', type: OnnxType.FLOAT, shape: [1] }],
      outputs: [{ name: 'b', type: OnnxType.FLOAT, shape: [1] }],
      nodes: [{ op: 'Relu', inputs: ['a'], outputs: ['b'] }],
    });
    const same = spliceModel(m, {
      removeInputs: [],
      inputs: [],
      nodesBefore: [],
      nodesAfter: [],
      initializers: [],
      outputs: [{ name: 'b', type: OnnxType.FLOAT, shape: [1] }],
    });
    expect(Buffer.from(same).equals(Buffer.from(m))).toBe(true);
  });
});
