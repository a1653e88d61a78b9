import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { encodeModel, OnnxType } from '../onnx/onnx-writer';
import { readNpy } from '../embeddings/npy';
import { decodeRGB } from './decode';
import { type Preset, PRESETS, preprocess } from './preprocess';
import { preprocessGraph, resizeMatrix } from './preprocess-graph';

const FIX = path.resolve(process.cwd(), '../shared/fixtures/images');
/** One uint8 level after normalisation: 1/255 divided by the smallest std (0.224). */
const LEVEL = 1 / 255 / 0.224 + 1e-6;

async function runGraph(img: { data: Uint8Array; width: number; height: number }, preset: Preset, type: 'float32' | 'float16' = 'float32'): Promise<ort.Tensor> {
  const g = preprocessGraph({ width: img.width, height: img.height, preset, size: 224, inputName: 'img', outputName: 'out', outputType: type });
  const model = encodeModel({
    inputs: [g.input],
    outputs: [{ name: 'out', type: type === 'float16' ? OnnxType.FLOAT16 : OnnxType.FLOAT, shape: ['batch', 3, 224, 224] }],
    nodes: g.nodes,
    initializers: g.initializers,
  });
  const s = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    return (await s.run({ img: new ort.Tensor('uint8', img.data, [1, img.height, img.width, 3]) })).out!;
  } finally {
    await s.release();
  }
}

describe('preprocessGraph (resize, crop and normalise inside ONNX)', () => {
  it('gives the PyTorch/PIL reference tensor of img00 (dinov2-eval)', async () => {
    const img = await decodeRGB(path.join(FIX, 'img00_32x32_RGB.jpg'));
    const got = (await runGraph(img, 'dinov2-eval')).data as Float32Array;
    const ref = readNpy(fs.readFileSync(path.join(FIX, 'preprocessed-img00_32x32_RGB.npy'))).data as Float32Array;
    let maxAbs = 0;
    let off = 0;
    for (let i = 0; i < ref.length; i++) {
      const e = Math.abs(got[i]! - ref[i]!);
      maxAbs = Math.max(maxAbs, e);
      if (e > 1e-6) off++;
    }
    // Measured: identical (max abs error 0). Float32 sums may round a value to the neighbouring uint8
    // level where Pillow's integer sums do not: allow one level on at most 0.1 % of the values.
    expect(maxAbs).toBeLessThanOrEqual(LEVEL);
    expect(off).toBeLessThan(ref.length / 1000);
  });

  it('matches the Pillow-exact JS preprocessing on every fixture image and preset to one uint8 level', async () => {
    const files = fs.readdirSync(FIX).filter((f) => /\.(png|jpg)$/.test(f));
    expect(files.length).toBe(8);
    for (const f of files) {
      const img = await decodeRGB(path.join(FIX, f));
      for (const preset of PRESETS) {
        const got = (await runGraph(img, preset)).data as Float32Array;
        const want = preprocess(img, preset);
        let maxAbs = 0;
        let off = 0;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(got[i]! - want[i]!);
          maxAbs = Math.max(maxAbs, e);
          if (e > 1e-6) off++;
        }
        // Measured: at most 31 of 150,528 values one level off (img00, resize-224), none for most.
        expect(maxAbs, `${f} ${preset}`).toBeLessThanOrEqual(LEVEL);
        expect(off, `${f} ${preset}`).toBeLessThan(want.length / 1000);
      }
    }
  });

  it('casts to float16 for half-precision backbones', async () => {
    const img = { data: new Uint8Array(16 * 16 * 3).fill(200), width: 16, height: 16 };
    const t = await runGraph(img, 'resize-224', 'float16');
    expect(t.type).toBe('float16');
    expect(t.dims).toEqual([1, 3, 224, 224]);
  });

  it('resize matrices hold Pillow weights: rows sum to 1, same-size axes are a plain crop', () => {
    const m = resizeMatrix(32, 256, 16, 224);
    for (let r = 0; r < 224; r++) {
      let s = 0;
      for (let c = 0; c < 32; c++) s += m[r * 32 + c]!;
      expect(s).toBeCloseTo(1, 5);
    }
    const crop = resizeMatrix(300, 300, 38, 224);
    expect(crop[38]).toBe(1);
    expect(crop[300 + 39]).toBe(1);
    expect(crop.reduce((a, b) => a + b, 0)).toBe(224);
  });
});
