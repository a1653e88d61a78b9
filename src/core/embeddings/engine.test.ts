import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackboneRow } from '../backbones/registry';
import { f16Model, tokensModel } from '../backbones/tiny-models';
import { createEmbedder } from './engine';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-engine-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function row(p: Partial<BackboneRow>): BackboneRow {
  return {
    id: 1,
    name: 'test',
    kind: 'onnx',
    file: null,
    sha256: null,
    sizeBytes: 0,
    inputName: 'pixel_values',
    outputName: 'pooler_output',
    outputKind: 'pooler',
    dim: 3,
    precision: 'float32',
    imageSize: 8,
    createdAt: '',
    ...p,
  };
}

describe('createEmbedder', () => {
  it('raw-pixels: 32x32 bicubic, HWC in [0, 1], no model', async () => {
    const e = await createEmbedder(row({ kind: 'raw-pixels', dim: 3072, imageSize: 32 }), { provider: 'auto', modelsDir: dir });
    expect([e.dim, e.inputSize, e.inputLength]).toEqual([3072, 32, 3072]);
    const data = new Uint8Array(32 * 32 * 3).map((_, i) => i % 256);
    const batch = new Float32Array(2 * 3072);
    e.prepare({ data, width: 32, height: 32 }, 'dinov2-eval', batch, 3072);
    const out = await e.embed(batch, 2);
    expect(out.length).toBe(6144);
    expect(out[3072 + 5]).toBeCloseTo(5 / 255, 6);
    expect(out[3072 + 300]).toBeCloseTo(300 % 256 / 255, 6);
    // A 64x64 constant image becomes a 32x32 constant image.
    e.prepare({ data: new Uint8Array(64 * 64 * 3).fill(51), width: 64, height: 64 }, 'resize-224', batch, 0);
    expect(batch[0]).toBeCloseTo(0.2, 6);
    expect(batch[3071]).toBeCloseTo(0.2, 6);
    await e.close();
  });

  it('cls output: takes token 0 of last_hidden_state for every image of the batch', async () => {
    const file = path.join(dir, 'tokens.onnx');
    fs.writeFileSync(file, tokensModel(8));
    const e = await createEmbedder(row({ file, outputName: 'last_hidden_state', outputKind: 'cls' }), { provider: 'cpu', modelsDir: dir });
    expect(e.provider).toBe('cpu');
    const n = 3;
    const batch = new Float32Array(n * 3 * 64);
    // Token 0 is pixel (0, 0) of each channel: put a recognisable value there.
    for (let i = 0; i < n; i++) for (let c = 0; c < 3; c++) batch[i * 192 + c * 64] = 10 * i + c;
    const out = await e.embed(batch, n);
    expect(Array.from(out)).toEqual([0, 1, 2, 10, 11, 12, 20, 21, 22]);
    await e.close();
  });

  it('float16 models: input converted to half, output back to float32', async () => {
    const file = path.join(dir, 'f16.onnx');
    fs.writeFileSync(file, f16Model(8));
    const e = await createEmbedder(row({ file, precision: 'float16' }), { provider: 'cpu', modelsDir: dir });
    const batch = new Float32Array(2 * 192);
    batch.fill(0.5, 0, 64);
    batch.fill(-1.25, 64, 128);
    batch.fill(3, 128, 192);
    batch.fill(0.1, 192, 384);
    const out = await e.embed(batch, 2);
    expect(out).toBeInstanceOf(Float32Array);
    expect(Array.from(out.subarray(0, 3))).toEqual([0.5, -1.25, 3]);
    // 0.1 is not representable in half precision: float16(0.1) = 0.0999755859375.
    expect(out[3]).toBeCloseTo(0.0999755859375, 6);
    await e.close();
  });

  it('auto falls back to a provider that starts and says why the others did not', async () => {
    const file = path.join(dir, 'f16b.onnx');
    fs.writeFileSync(file, f16Model(8));
    const e = await createEmbedder(row({ file, precision: 'float16' }), { provider: 'auto', modelsDir: dir });
    const order = ['cuda', 'webgpu', 'cpu'];
    expect(order).toContain(e.provider);
    // One notice per provider tried before the one in use.
    expect(e.notices.map((n) => n.split(':')[0])).toEqual(order.slice(0, order.indexOf(e.provider)));
    await e.close();
  });

  it('random-vit: builds the cached model on first use and embeds into 384 dims', async () => {
    const modelsDir = path.join(dir, 'models');
    const e = await createEmbedder(row({ kind: 'random-vit', dim: 384, imageSize: 224 }), { provider: 'cpu', modelsDir });
    expect(fs.readdirSync(modelsDir)).toEqual(['random-vit-s14-seed0.onnx']);
    const batch = new Float32Array(e.inputLength);
    e.prepare({ data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 13) & 255), width: 32, height: 32 }, 'resize-224', batch, 0);
    const out = await e.embed(batch, 1);
    expect(out.length).toBe(384);
    expect(out.every((v) => Number.isFinite(v))).toBe(true);
    await e.close();
  });

  it('a missing model file is reported as not_found', async () => {
    await expect(createEmbedder(row({ file: path.join(dir, 'gone.onnx') }), { provider: 'cpu', modelsDir: dir })).rejects.toMatchObject({ code: 'not_found' });
  });
});
