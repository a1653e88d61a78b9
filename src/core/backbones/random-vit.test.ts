import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { inspectOnnx } from './inspect';
import type { BackboneRow } from './registry';
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

describe('random-vit-s14 in float16', () => {
  it('is the same network in half precision: float16 in and out, half the bytes, the float32 embedding through the engine', async () => {
    const f32 = path.join(dir, 'v32.onnx');
    const f16 = path.join(dir, 'v16.onnx');
    fs.writeFileSync(f32, buildRandomVitS14(3));
    fs.writeFileSync(f16, buildRandomVitS14(3, { float16: true }));
    const info = await inspectOnnx(f16);
    expect(info).toMatchObject({ inputType: 'float16', outputName: 'pooler_output', dim: 384 });
    expect(info.sizeBytes).toBeLessThan(fs.statSync(f32).size / 2 + 200_000);
    const { createEmbedder } = await import('../embeddings/engine');
    const { cosine } = await import('../embeddings/testing/cosine');
    const row = (file: string, precision: 'float32' | 'float16'): BackboneRow => ({
      id: 1, name: 'v', kind: 'onnx', file, sha256: null, sizeBytes: 0, inputName: 'pixel_values', outputName: 'pooler_output',
      outputKind: 'pooler', dim: 384, precision, imageSize: 224, createdAt: '',
    });
    const img = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 13) & 255), width: 32, height: 32 };
    const outs: Float32Array[] = [];
    for (const [file, precision] of [[f32, 'float32'], [f16, 'float16']] as const) {
      const e = await createEmbedder(row(file, precision), { provider: 'cpu', modelsDir: dir, graphPreprocess: { preset: 'resize-224', width: 32, height: 32 } });
      const batch = e.allocate(1);
      e.prepare(img, 'resize-224', batch, 0);
      outs.push(await e.embed(batch, 1));
      await e.close();
    }
    // Measured: 1 - cosine 2.6e-7 on the CPU provider (it computes float16 nodes in float32 after casting;
    // the weights' float16 rounding remains).
    const c = cosine(outs[0]!, outs[1]!);
    console.log(`float16 vs float32 ViT-S/14 on cpu: 1 - cosine ${(1 - c).toExponential(2)}`);
    expect(1 - c).toBeLessThan(1e-6);
  }, 60_000);
});
