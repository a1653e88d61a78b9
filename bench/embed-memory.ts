/**
 * Memory of an embedding job: a 60,000-image CIFAR-sized dataset (32x32 pixels in SQLite, generated)
 * embedded end to end through the real pipeline with the raw-pixels backbone (3,072-d vectors: the most
 * bytes per vector of any backbone), and the fixture ViT-S/14 on the first BENCH_VIT_IMAGES images
 * (default 512) with the resident set sampled per batch, to show it stays flat. Target: peak RSS of a
 * 60,000-image job <= 2 GB. The loader is the app's own (datasets/queries loadSampleRGB).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/core/db/database';
import { addBackboneFile, ensureBuiltinBackbones, listBackbones } from '../src/core/backbones/registry';
import { loadSampleRGB } from '../src/core/datasets/queries';
import { createEmbeddingSet, runEmbeddingSet } from '../src/core/embeddings/pipeline';
import { insertPixelDataset } from '../src/core/embeddings/testing/fixture-db';
import { tinyBackbone } from '../src/core/backbones/tiny-models';
import type { BenchResult } from './run';

const FIXTURE = path.resolve(import.meta.dirname, '../../shared/fixtures/models/dinov2-vits14-random.onnx');

function sampler(): { stop: () => { peakMb: number; samples: number[] } } {
  const samples: number[] = [];
  let peak = 0;
  const t = setInterval(() => {
    const rss = process.memoryUsage().rss / 2 ** 20;
    samples.push(rss);
    peak = Math.max(peak, rss);
  }, 200);
  return {
    stop: () => {
      clearInterval(t);
      return { peakMb: Math.max(peak, process.memoryUsage().rss / 2 ** 20), samples };
    },
  };
}

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.BENCH_N ?? (process.env.BENCH_QUICK === '1' ? 6000 : 60_000));
  const vitImages = Number(process.env.BENCH_VIT_IMAGES ?? (process.env.BENCH_QUICK === '1' ? 128 : 512));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-mem-'));
  const rows: BenchResult['rows'] = [];
  try {
    const db = openDatabase(path.join(dir, 'mem.db'));
    ensureBuiltinBackbones(db, path.join(dir, 'models'));
    const datasetId = insertPixelDataset(db, 'mem', n);
    const raw = listBackbones(db).find((b) => b.kind === 'raw-pixels')!;
    const base = process.memoryUsage().rss / 2 ** 20;
    let s = sampler();
    const setRaw = createEmbeddingSet(db, { datasetId, backboneId: raw.id, preset: 'resize-224' });
    const r1 = await runEmbeddingSet(db, setRaw, { provider: 'cpu', batchSize: 256, modelsDir: path.join(dir, 'models'), loadImage: (id) => loadSampleRGB(db, id) });
    let m = s.stop();
    // A job that keeps the event loop busy may leave few samples: the peak read at the end still counts.
    const halves = (x: number[]): [number, number] =>
      x.length < 2 ? [Math.round(m.peakMb), Math.round(m.peakMb)] : [Math.round(Math.max(...x.slice(0, Math.floor(x.length / 2)))), Math.round(Math.max(...x.slice(Math.floor(x.length / 2))))];
    let [h1, h2] = halves(m.samples);
    rows.push({ job: `raw-pixels, ${n} images`, images_per_s: Math.round(r1.imagesPerSec), rss_start_mb: Math.round(base), peak_rss_mb: Math.round(m.peakMb), peak_1st_half_mb: h1, peak_2nd_half_mb: h2, threads: '1 (JS resize, no model)', backend: `raw-pixels (${r1.provider})` });

    // The same 60,000 images through an ONNX model with preprocessing inside the graph (uint8 batches),
    // an almost free 8-d model so the whole dataset runs here in seconds.
    const tinyFile = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(tinyFile, tinyBackbone({ dim: 8 }));
    const tiny = await addBackboneFile(db, tinyFile, 'tiny');
    s = sampler();
    const setTiny = createEmbeddingSet(db, { datasetId, backboneId: tiny.id, preset: 'resize-224' });
    const r0 = await runEmbeddingSet(db, setTiny, { provider: 'cpu', batchSize: 256, modelsDir: path.join(dir, 'models'), loadImage: (id) => loadSampleRGB(db, id) });
    m = s.stop();
    [h1, h2] = halves(m.samples);
    rows.push({ job: `8-d ONNX model, ${n} images, preprocessing in ${r0.preprocessing}`, images_per_s: Math.round(r0.imagesPerSec), rss_start_mb: Math.round(m.samples[0] ?? 0), peak_rss_mb: Math.round(m.peakMb), peak_1st_half_mb: h1, peak_2nd_half_mb: h2, threads: 'onnxruntime default intra-op (one per physical core)', backend: `onnxruntime ${r0.provider}` });

    const vit = await addBackboneFile(db, FIXTURE, 'vits14');
    // Only the first vitImages samples: a second dataset of that size keeps the run short.
    const small = insertPixelDataset(db, 'mem-vit', vitImages);
    s = sampler();
    const setVit = createEmbeddingSet(db, { datasetId: small, backboneId: vit.id, preset: 'resize-224' });
    const r2 = await runEmbeddingSet(db, setVit, { provider: 'cpu', modelsDir: path.join(dir, 'models'), loadImage: (id) => loadSampleRGB(db, id) });
    m = s.stop();
    [h1, h2] = halves(m.samples);
    rows.push({
      job: `ViT-S/14 (fixture), ${vitImages} images, batch ${r2.batchSize}`,
      images_per_s: Number(r2.imagesPerSec.toFixed(1)),
      rss_start_mb: Math.round(m.samples[0] ?? 0),
      peak_rss_mb: Math.round(m.peakMb),
      peak_1st_half_mb: h1,
      peak_2nd_half_mb: h2,
      threads: 'onnxruntime default intra-op (one per physical core)',
      backend: `onnxruntime ${r2.provider}, preprocessing ${r2.preprocessing}`,
    });
    db.close();
    return { rows, json: { n, vitImages, synthetic: 'generated 32x32 pixel datasets; the ViT-S/14 has random weights (fixture)', rows } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
