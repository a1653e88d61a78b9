import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectOnnx } from './inspect';
import { buildRandomVitS14, ensureRandomVit } from './random-vit';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-rvit-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('random-vit-s14', () => {
  it('builds a loadable ViT-S/14 with the DINOv2 interface and parameter count', async () => {
    const file = ensureRandomVit(dir);
    const info = await inspectOnnx(file);
    expect(info).toMatchObject({ inputName: 'pixel_values', inputType: 'float32', imageSize: 224, outputName: 'pooler_output', outputKind: 'pooler', dim: 384 });
    // DINOv2 vit_small has 22,056,576 parameters at img_size 518 (1,370 position embeddings) with
    // LayerScale (12 x 2 x 384) and a mask token (384); at 224 (257 positions) without those two:
    // 22,056,576 - (1370 - 257) * 384 - 9,216 - 384 = 21,619,584 float32 weights, plus a small graph.
    const params = 21_619_584;
    expect(info.sizeBytes).toBeGreaterThan(params * 4);
    expect(info.sizeBytes).toBeLessThan(params * 4 + 200_000);

    // The output is the final LayerNorm (weight 1, bias 0) of CLS: zero mean and unit variance per vector.
    const session = await ort.InferenceSession.create(file);
    const x = new Float32Array(2 * 3 * 224 * 224).map((_, i) => Math.sin(i * 0.001));
    const out = (await session.run({ pixel_values: new ort.Tensor('float32', x, [2, 3, 224, 224]) })).pooler_output!;
    await session.release();
    expect(out.dims).toEqual([2, 384]);
    const v = out.data as Float32Array;
    for (let r = 0; r < 2; r++) {
      const row = v.subarray(r * 384, (r + 1) * 384);
      const mean = row.reduce((a, b) => a + b, 0) / 384;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 384;
      expect(Math.abs(mean)).toBeLessThan(1e-4);
      expect(variance).toBeGreaterThan(0.99);
      expect(variance).toBeLessThan(1.0001);
    }
    // Cached: a second call returns the same file without rebuilding it.
    const mtime = fs.statSync(file).mtimeMs;
    expect(ensureRandomVit(dir)).toBe(file);
    expect(fs.statSync(file).mtimeMs).toBe(mtime);
  });

  it('is deterministic per seed', () => {
    const a = buildRandomVitS14(1);
    const b = buildRandomVitS14(1);
    const c = buildRandomVitS14(2);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
    expect(Buffer.from(a).equals(Buffer.from(c))).toBe(false);
  });
});
