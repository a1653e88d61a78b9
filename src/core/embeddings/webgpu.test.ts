import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi, type TestContext } from 'vitest';
import { skipWithReason } from '../../../tests/helpers';
import type { BackboneRow } from '../backbones/registry';
import { buildRandomVitS14 } from '../backbones/random-vit';
import { f16Model } from '../backbones/tiny-models';
import { decodeRGB } from '../images/decode';
import { createEmbedder } from './engine';
import { cosine } from './testing/cosine';

// The WebGPU provider runs wherever Vulkan finds an adapter: a GPU, or Mesa's software one (lavapipe),
// which .ci/run installs so that this path is exercised without a GPU. Where neither exists, the WebGPU
// cases are reported skips (with the reason) outside CI and failures in CI (`.ci/run` sets CI=1); the
// refusal a user gets is checked by its own case, and the `auto` case runs everywhere.
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
  if (refusal) console.log(`webgpu cannot start here${process.env.CI ? ' (CI: its cases fail)' : '; its cases are skipped'}: ${refusal}`);
});

/**
 * Returns where webgpu runs. Elsewhere: in CI (which installs an adapter) the case fails; outside CI it
 * is a reported skip naming the reason.
 */
function requireWebgpu(ctx: TestContext): void {
  if (refusal === null) return;
  if (process.env.CI) expect.fail(`CI installs Mesa's Vulkan driver (.ci/run), so webgpu must start here; it refused: ${refusal}`);
  skipWithReason(ctx, `no WebGPU adapter here (install Mesa's Vulkan driver as .ci/run does): ${refusal}`);
}

describe('webgpu provider', () => {
  it('without an adapter, forcing webgpu refuses with a message naming the missing adapter', (ctx) => {
    if (refusal === null) skipWithReason(ctx, 'webgpu starts here: there is no refusal to check');
    expect(refusal).toMatch(/^No execution provider could run .*webgpu: no GPU adapter found/);
  });

  it('embeds the 32x32 fixture images like PyTorch, with preprocessing in JS and inside the graph', async (ctx) => {
    requireWebgpu(ctx);
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
        const cos = names.map((n, i) => cosine(out.subarray(i * 384, (i + 1) * 384), ref.embeddings[n]!));
        console.log(`webgpu fixture parity, graph=${graph}: 1 - cosine ${cos.map((c) => (1 - c).toExponential(2)).join(', ')}`);
        // Measured on Mesa's lavapipe: 1 - cosine 7.5e-13 and 9.5e-13, as on the CPU provider.
        names.forEach((n, i) => expect(1 - cos[i]!, `${n} graph=${graph}`).toBeLessThan(1e-8));
      } finally {
        await e.close();
      }
    }
  }, 120_000);

  it("a float16 model gives the CPU provider's result, with preprocessing in JS and inside the graph", async (ctx) => {
    requireWebgpu(ctx);
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
    const maxDiff = Math.max(...results.slice(1).flatMap((r) => r.map((v, c) => Math.abs(v - results[0]![c]!))));
    console.log(`float16 model, 4 provider/preprocessing combinations: max |difference| ${maxDiff.toExponential(2)}`);
    // Measured: 1.2e-4 (float16 rounding of the output values); asserted below 5e-4.
    expect(maxDiff).toBeLessThan(5e-4);
  }, 120_000);

  it('a full-size float16 ViT-S/14 on webgpu gives the float32 CPU embedding (cosine >= 0.9999)', async (ctx) => {
    requireWebgpu(ctx);
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
    // Measured on Mesa's lavapipe: 0.9999372 (WebGPU computes in half precision).
    const c = cosine(outs[0]!, outs[1]!);
    console.log(`float16 ViT-S/14 on webgpu vs float32 cpu: cosine ${c.toFixed(8)}`);
    expect(c).toBeGreaterThanOrEqual(0.9999);
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
