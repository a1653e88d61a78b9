import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LabError } from '../errors';
import { inspectOnnx } from './inspect';
import { OnnxType } from '../onnx/onnx-writer';
import { f16Model, nanModel, oneNodeModel, tinyBackbone, tokensModel } from './tiny-models';

const MODEL = path.resolve(process.cwd(), '../shared/fixtures/models/dinov2-vits14-random.onnx');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-inspect-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

async function refused(file: string): Promise<string> {
  const err = await inspectOnnx(file).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe('bad_model');
  return (err as LabError).message;
}

describe('inspectOnnx', () => {
  it('reads the fixture DINOv2 ViT-S/14: pooler_output, 384 dims, float32, 224, published sha256', async () => {
    const info = await inspectOnnx(MODEL);
    expect(info).toMatchObject({
      inputName: 'pixel_values',
      inputType: 'float32',
      imageSize: 224,
      outputName: 'pooler_output',
      outputKind: 'pooler',
      dim: 384,
      sha256: '5ca0f17b593b309a7c1ff00e237db404e6848ddad55159055d4c489b1a37a680',
    });
    expect(info.sizeBytes).toBe(fs.statSync(MODEL).size);
  });

  it('accepts a [B, D] output under another name as "first", and last_hidden_state as "cls"', async () => {
    const first = await inspectOnnx(write('first.onnx', tinyBackbone({ dim: 5, outputName: 'features' })));
    expect(first).toMatchObject({ outputName: 'features', outputKind: 'first', dim: 5 });
    const cls = await inspectOnnx(write('cls.onnx', tokensModel(8)));
    expect(cls).toMatchObject({ outputName: 'last_hidden_state', outputKind: 'cls', dim: 3, imageSize: 8 });
  });

  it('accepts float16 models', async () => {
    const info = await inspectOnnx(write('f16.onnx', f16Model(8)));
    expect(info).toMatchObject({ inputType: 'float16', imageSize: 8, dim: 3, outputKind: 'pooler' });
  });

  it('refuses random bytes', async () => {
    const bytes = new Uint8Array(4096).map((_, i) => (i * 7919 + 13) & 255);
    const msg = await refused(write('random.onnx', bytes));
    // A plain sentence: onnxruntime's C++ message (source paths) is kept in the error's details instead.
    expect(msg).toMatch(/random\.onnx is not an ONNX model DINO Lab can load/);
    expect(msg).not.toMatch(/onnxruntime|\.cc|\.h:/);
    await expect(inspectOnnx(write('random2.onnx', bytes))).rejects.toMatchObject({ details: { detail: expect.stringMatching(/\S/) } });
  });

  it('refuses an empty file in plain words', async () => {
    expect(await refused(write('empty.onnx', new Uint8Array(0)))).toBe('empty.onnx is empty (0 bytes): it is not an ONNX model.');
  });

  it('refuses a wrong rank, naming expected and found', async () => {
    const f = write('rank3.onnx', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 3, 224] }, output: { name: 'y', shape: ['batch', 3, 224] } }));
    expect(await refused(f)).toMatch(/rank 3 \[batch, 3, 224\]; expected rank 4/);
  });

  it('refuses a wrong channel count', async () => {
    const f = write('c1.onnx', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 1, 224, 224] }, output: { name: 'y', shape: ['batch', 1, 224, 224] } }));
    expect(await refused(f)).toMatch(/has 1 channels; expected 3/);
  });

  it('refuses a non-float input', async () => {
    const f = write('u8.onnx', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', type: OnnxType.UINT8, shape: ['batch', 3, 8, 8] }, output: { name: 'y', type: OnnxType.UINT8, shape: ['batch', 3, 8, 8] } }));
    expect(await refused(f)).toMatch(/is uint8; expected float32 or float16/);
  });

  it('refuses an output of unusable shape', async () => {
    const f = write('out4.onnx', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 3, 8, 8] }, output: { name: 'y', shape: ['batch', 3, 8, 8] } }));
    expect(await refused(f)).toMatch(/No usable output: expected pooler_output \[batch, D\].*found y \[1, 3, 8, 8\]/);
  });

  it('refuses a model whose test run gives NaN', async () => {
    expect(await refused(write('nan.onnx', nanModel(8)))).toMatch(/non-finite/);
  });

  it('reports a missing file as not_found', async () => {
    await expect(inspectOnnx(path.join(dir, 'nope.onnx'))).rejects.toMatchObject({ code: 'not_found' });
  });
});
