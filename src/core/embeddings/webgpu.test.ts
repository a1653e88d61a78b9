import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BackboneRow } from '../backbones/registry';
import { buildRandomVitS14 } from '../backbones/random-vit';
import { f16Model } from '../backbones/tiny-models';
import { decodeRGB } from '../images/decode';
import { createEmbedder } from './engine';
import { cosine } from './testing/cosine';

// The WebGPU provider runs wherever Vulkan finds an adapter: a GPU, or Mesa's software one (lavapipe),
// which .ci/run installs so that this path is exercised without a GPU. Where neither exists, each WebGPU
// case checks the refusal a user would get instead; the `auto` case runs everywhere.
vi.mock('../info', async (orig) => ({ ...(await orig<typeof import('../info')>()), hasGpuDevice: vi.fn(() => false) }));

const FIX = path.resolve(process.cwd(), '../shared/fixtures');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-webgpu-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const vit: BackboneRow = {
  id: 1, name: 'vits14', kind: 'onnx', file: path.join(FIX, 'models/dinov2-vits14-random.onnx'), sha256: null, sizeBytes: 0,
  inputName: 'pixel_values', outputName: 'pooler_output', outputKind: 'pooler', dim: 384, precision: 'float32', imageSize: 224, createdAt: '',
};

/** Null where forcing webgpu starts a session, else the message the user gets. */
async function webgpuRefusal(): Promise<string | null> {
  const file = path.join(dir, 'probe.onnx');
  fs.writeFileSync(file, f16Model(8));
  try {
    const e = await createEmbedder({ ...vit, file, dim: 3, precision: 'float16', imageSize: 8 }, { provider: 'webgpu', modelsDir: dir });
    await e.close();
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

let refusal: string | null = null;
beforeAll(async () => {
  refusal = await webgpuRefusal();
  if (refusal) console.log(`webgpu cannot start here; the webgpu cases check its refusal instead: ${refusal}`);
});

/**
 * True where webgpu runs. Elsewhere the case checks what a user who forces webgpu sees instead: a clear
 * refusal naming the missing adapter. CI installs an adapter, so there the computing branch must run.
 */
function webgpuRuns(): boolean {
  if (process.env.CI) expect(refusal, 'CI installs Mesa\'s Vulkan driver: webgpu must start').toBeNull();
  if (refusal === null) return true;
  expect(refusal).toMatch(/^No execution provider could run .*webgpu: no GPU adapter found/);
  return false;
}

describe('webgpu provider', () => {
  it('embeds the 32x32 fixture images like PyTorch, with preprocessing in JS and inside the graph', async () => {
    if (!webgpuRuns()) return;
    const ref = JSON.parse(fs.readFileSync(path.join(FIX, 'images/reference-embeddings.json'), 'utf8')) as { embeddings: Record<string, number[]> };
    const names = ['img00_32x32_RGB.jpg', 'img01_32x32_RGB.png'];
    const imgs = await Promise.all(names.map((n) => decodeRGB(path.join(FIX, 'images', n))));
    for (const graph of [false, true]) {
      const e = await createEmbedder(vit, { provider: 'webgpu', modelsDir: dir, ...(graph ? { graphPreprocess: { preset: 'dinov2-eval', width: 32, height: 32 } } : {}) });
      try {
        expect([e.provider, e.preprocessing]).toEqual(['webgpu', graph ? 'graph' : 'js']);
        const batch = e.allocate(2);
        imgs.forEach((img, i) => e.prepare(img, 'dinov2-eval', batch, i * e.inputLength));
        const out = await e.embed(batch, 2);
        names.forEach((n, i) => expect(cosine(out.subarray(i * 384, (i + 1) * 384), ref.embeddings[n]!), `${n} graph=${graph}`).toBeGreaterThanOrEqual(0.999));
      } finally {
        await e.close();
      }
    }
  }, 120_000);

  it("a float16 model gives the CPU provider's result, with preprocessing in JS and inside the graph", async () => {
    if (!webgpuRuns()) return;
    const file = path.join(dir, 'f16-embed.onnx');
    fs.writeFileSync(file, f16Model(8));
    const row = { ...vit, file, dim: 3, precision: 'float16' as const, imageSize: 8 };
    const img = { data: new Uint8Array(12 * 12 * 3).map((_, i) => (i * 29) & 255), width: 12, height: 12 };
    const results: number[][] = [];
    for (const provider of ['cpu', 'webgpu'] as const) {
      for (const graph of [false, true]) {
        const e = await createEmbedder(row, { provider, modelsDir: dir, ...(graph ? { graphPreprocess: { preset: 'resize-224', width: 12, height: 12 } } : {}) });
        try {
          expect([e.provider, e.preprocessing]).toEqual([provider, graph ? 'graph' : 'js']);
          const batch = e.allocate(1);
          e.prepare(img, 'resize-224', batch, 0);
          results.push(Array.from(await e.embed(batch, 1)));
        } finally {
          await e.close();
        }
      }
    }
    // Half precision: the four agree to float16's resolution around these values (about 1e-3).
    for (const r of results.slice(1)) r.forEach((v, c) => expect(v).toBeCloseTo(results[0]![c]!, 2));
  }, 120_000);

  it('a full-size float16 ViT-S/14 on webgpu gives the float32 CPU embedding (cosine >= 0.999)', async () => {
    if (!webgpuRuns()) return;
    const f32 = path.join(dir, 'v32.onnx');
    const f16 = path.join(dir, 'v16.onnx');
    fs.writeFileSync(f32, buildRandomVitS14(1));
    fs.writeFileSync(f16, buildRandomVitS14(1, { float16: true }));
    const img = { data: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 13) & 255), width: 32, height: 32 };
    const outs: Float32Array[] = [];
    for (const [file, precision, provider] of [[f32, 'float32', 'cpu'], [f16, 'float16', 'webgpu']] as const) {
      const e = await createEmbedder({ ...vit, file, precision }, { provider, modelsDir: dir, graphPreprocess: { preset: 'resize-224', width: 32, height: 32 } });
      try {
        const batch = e.allocate(1);
        e.prepare(img, 'resize-224', batch, 0);
        outs.push(await e.embed(batch, 1));
      } finally {
        await e.close();
      }
    }
    // Measured on Mesa's lavapipe: 0.99993 (WebGPU computes in half precision).
    expect(cosine(outs[0]!, outs[1]!)).toBeGreaterThanOrEqual(0.999);
  }, 180_000);

  it('auto does not pick webgpu where no GPU device exists (a software Vulkan driver is far slower than cpu)', async () => {
    const file = path.join(dir, 'f16.onnx');
    fs.writeFileSync(file, f16Model(8));
    const e = await createEmbedder({ ...vit, file, dim: 3, precision: 'float16', imageSize: 8 }, { provider: 'auto', modelsDir: dir });
    await e.close();
    // cuda only where `npm run setup:cuda` installed it and a GPU works; never webgpu here.
    expect(e.provider).not.toBe('webgpu');
    if (e.provider === 'cpu') expect(e.notices.some((n) => n.startsWith('webgpu: skipped, no GPU device found'))).toBe(true);
  });
});
