/**
 * `dinolab export-model` end to end: a real database, a real ONNX backbone embedded through the app's
 * job, runs trained by job processes; the exported full model (uint8 image in, in-graph preprocessing,
 * backbone, head) run in onnxruntime-node gives the same labels as `dinolab try` on the same files.
 * And the export of a run on the 88 MB ViT-S/14 fixture: its time and size, and its labels against the
 * app's embedding path.
 */
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main';
import { tinyBackbone } from '../../src/core/backbones/tiny-models';
import { insertOnnxBackbone } from '../../src/core/backbones/queries';
import { openDatabase } from '../../src/core/db/database';
import { loadSampleRGB } from '../../src/core/datasets/queries';
import { createEmbedder } from '../../src/core/embeddings/engine';
import { exportModel } from '../../src/core/export/model-export';
import { decodeRGB } from '../../src/core/images/decode';
import { preprocessTo } from '../../src/core/images/preprocess';
import { Lab } from '../../src/core/lab';
import { matrix } from '../../src/core/math/matrix';
import { loadOrt } from '../../src/core/onnx/ort';
import { loadRunClassifier } from '../../src/core/runs/models/queries';
import { insertBlobEmbeddingSet } from '../../src/core/runs/test-helpers';
import { createRun, executeRun } from '../../src/core/runs/train-run';
import { fixtures, tempDir } from '../helpers';

const t = tempDir('dinolab-export-it-');
const dbPath = path.join(t.dir, 'lab.db');
let lab: Lab;
let setId = 0;
const runs: Record<string, number> = {};
const files: string[] = [];

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli([...args, '--db', dbPath], { out: (s) => out.push(s), err: (s) => err.push(s) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

async function modelLabels(file: string, images: { data: Uint8Array; width: number; height: number }[]): Promise<number[]> {
  const ort = (await loadOrt())!;
  const s = await ort.InferenceSession.create(file);
  try {
    const { width: W, height: H } = images[0]!;
    const x = new Uint8Array(images.length * H * W * 3);
    images.forEach((im, i) => x.set(im.data, i * H * W * 3));
    const out = await s.run({ image: new ort.Tensor('uint8', x, [images.length, H, W, 3]) });
    return Array.from(out.label!.data as BigInt64Array, Number);
  } finally {
    await s.release();
  }
}

beforeAll(async () => {
  process.env.DINOLAB_DATA_DIR = t.dir;
  lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
  const model = path.join(t.dir, 'tiny.onnx');
  fs.writeFileSync(model, tinyBackbone({ dim: 24, seed: 4 }));
  const bb = await lab.call('backbones.add', { file: model, name: 'tiny' });
  const imp = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 200, test: 50 } })).id);
  expect(imp.error).toBeNull();
  const ds = (await lab.call('datasets.list', {}))[0]!;
  const emb = await lab.jobs.wait((await lab.call('embeddings.start', { datasetId: ds.id, backboneId: bb.id, preset: 'dinov2-eval', provider: 'cpu' })).id);
  expect(emb.error).toBeNull();
  const set = (await lab.call('sets.list', {}))[0]!;
  setId = set.id;
  expect(set.preprocessing).toBe('graph');
  for (const [kind, params] of [
    ['logreg', {}],
    ['knn', { k: 5 }],
    ['mlp', { epochs: 5 }],
    // Without Platt scaling the Try page's top class is the one-vs-one vote, the label the export gives
    // (with it, the top of libsvm's coupled probabilities can differ from the vote).
    ['svc', { probability: false }],
  ] as const) {
    const end = await lab.jobs.wait((await lab.call('runs.start', { setId, kind, params, seed: 1 })).id);
    expect(end.error, kind).toBeNull();
    runs[kind] = (await lab.call('runs.list', { setId })).find((r) => r.kind === kind)!.id;
  }
  // Files at the set's image size: two fixture images and four test images of the set, as PNG.
  files.push(path.join(fixtures, 'images/img00_32x32_RGB.jpg'), path.join(fixtures, 'images/img01_32x32_RGB.png'));
  const page = await lab.call('samples.list', { datasetId: ds.id, split: 'test', limit: 4 });
  const db = openDatabase(dbPath);
  try {
    for (const item of page.items) {
      const png = path.join(t.dir, `sample-${item.id}.png`);
      const px = await loadSampleRGB(db, item.id);
      await sharp(Buffer.from(px.data), { raw: { width: px.width, height: px.height, channels: 3 } }).png().toFile(png);
      files.push(png);
    }
  } finally {
    db.close();
  }
}, 240_000);

afterAll(async () => {
  await lab.close();
  delete process.env.DINOLAB_DATA_DIR;
  t.cleanup();
});

describe('export-model: the full model gives the labels of dinolab try', () => {
  it('every kind: image [N, 32, 32, 3] in, the same label as dinolab try on each file', async () => {
    const tried = await cli(['try', '--set', String(setId), ...files, '--json']);
    expect(tried.code, tried.err).toBe(0);
    const report = JSON.parse(tried.out) as { file: string; predictions: { runId: number; kind: string; top: { label: number }[] }[] }[];
    expect(report.map((r) => r.file)).toEqual(files);
    const images = [];
    for (const f of files) images.push(await decodeRGB(f));
    for (const im of images) expect([im.width, im.height]).toEqual([32, 32]);
    for (const [kind, runId] of Object.entries(runs)) {
      const out = path.join(t.dir, `${kind}-full.onnx`);
      const r = await cli(['export-model', '--run', String(runId), '--out', out, '--json']);
      expect(r.code, r.err).toBe(0);
      const info = JSON.parse(r.out) as { bytes: number; input: { name: string; shape: unknown[] }; outputs: string[] };
      expect(info.bytes).toBe(fs.statSync(out).size);
      expect(info.input).toMatchObject({ name: 'image', shape: ['batch', 32, 32, 3] });
      const got = await modelLabels(out, images);
      const want = report.map((f) => f.predictions.find((p) => p.runId === runId)!.top[0]!.label);
      expect(got, kind).toEqual(want);
    }
  }, 240_000);

  it('dinolab try reports bad files one by one and still answers the others; --runs filters', async () => {
    const bad = path.join(t.dir, 'not-an-image.png');
    fs.writeFileSync(bad, 'hello');
    const missing = path.join(t.dir, 'missing.png');
    const r = await cli(['try', '--set', String(setId), files[0]!, bad, missing, files[1]!, '--runs', String(runs.logreg), '--json']);
    expect(r.code).toBe(1);
    const report = JSON.parse(r.out) as ({ file: string; error: string } | { file: string; predictions: { runId: number }[]; neighbors: unknown[]; ood: { similarity: number } })[];
    expect(report.map((x) => x.file)).toEqual([files[0], bad, missing, files[1]]);
    expect(report[1]).toMatchObject({ error: expect.stringMatching(/./) });
    expect(report[2]).toMatchObject({ error: 'no such file' });
    for (const i of [0, 3]) {
      const ok = report[i] as { predictions: { runId: number }[]; neighbors: unknown[]; ood: { similarity: number } };
      expect(ok.predictions.map((p) => p.runId)).toEqual([runs.logreg]);
      expect(ok.neighbors.length).toBeGreaterThan(0);
      expect(typeof ok.ood.similarity).toBe('number');
    }
    const text = await cli(['try', '--set', String(setId), files[0]!, bad]);
    expect(text.out).toMatch(/not-an-image\.png: error: /);
    expect(text.out).toMatch(/img00_32x32_RGB\.jpg: the runs (agree|disagree)/);
  }, 120_000);

  it('names what is missing: a deleted run (with its set), a backbone file gone', async () => {
    const model = path.join(t.dir, 'tiny.onnx');
    const moved = `${model}.away`;
    fs.renameSync(model, moved);
    try {
      const r = await cli(['export-model', '--run', String(runs.logreg), '--out', path.join(t.dir, 'x.onnx')]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(/backbone "tiny".*is missing.*--head-only/);
      expect(fs.existsSync(path.join(t.dir, 'x.onnx'))).toBe(false);
      // The head alone does not need the backbone.
      expect((await cli(['export-model', '--run', String(runs.logreg), '--out', path.join(t.dir, 'h.onnx'), '--head-only'])).code).toBe(0);
    } finally {
      fs.renameSync(moved, model);
    }
    const r = await cli(['export-model', '--run', '424242', '--out', path.join(t.dir, 'y.onnx')]);
    expect(r.err).toMatch(/Run 424242 does not exist: .*embedding set, dataset or backbone/);
  });
});

describe('export-model on a dataset of several image sizes (the fixture images)', () => {
  it('pixel_values input: the fixture images preprocessed as the metadata says give the labels of dinolab try', async () => {
    // The eight fixture images (32x32 to 640x480, grey, RGBA) as a two-class folder dataset.
    const root = path.join(t.dir, 'mixed');
    const names = fs.readdirSync(path.join(fixtures, 'images')).filter((f) => /^img\d\d_/.test(f)).sort();
    expect(names.length).toBe(8);
    names.forEach((f, i) => {
      const d = path.join(root, i < 4 ? 'train' : 'test', i % 2 ? 'odd' : 'even');
      fs.mkdirSync(d, { recursive: true });
      fs.copyFileSync(path.join(fixtures, 'images', f), path.join(d, f));
    });
    const imp = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'folder', path: root }, name: 'mixed' })).id);
    expect(imp.error).toBeNull();
    const ds = (await lab.call('datasets.list', {})).find((d) => d.name === 'mixed')!;
    const bb = (await lab.call('backbones.list', {})).find((b) => b.name === 'tiny')!;
    const emb = await lab.jobs.wait((await lab.call('embeddings.start', { datasetId: ds.id, backboneId: bb.id, preset: 'dinov2-eval', provider: 'cpu' })).id);
    expect(emb.error).toBeNull();
    const set = (await lab.call('sets.list', {})).find((x) => x.datasetId === ds.id)!;
    expect(set.preprocessing).toBe('js');
    const end = await lab.jobs.wait((await lab.call('runs.start', { setId: set.id, kind: 'knn', params: { k: 3 }, seed: 1 })).id);
    expect(end.error).toBeNull();
    const runId = (await lab.call('runs.list', { setId: set.id }))[0]!.id;
    const out = path.join(t.dir, 'mixed.onnx');
    const r = await cli(['export-model', '--run', String(runId), '--out', out, '--json']);
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out).input).toEqual({ name: 'pixel_values', type: 'float32', shape: ['batch', 3, 224, 224] });
    const files8 = names.map((f) => path.join(fixtures, 'images', f));
    const tried = await cli(['try', '--set', String(set.id), ...files8, '--json']);
    expect(tried.code, tried.err).toBe(0);
    const want = (JSON.parse(tried.out) as { predictions: { top: { label: number }[] }[] }[]).map((f) => f.predictions[0]!.top[0]!.label);
    const ort = (await loadOrt())!;
    const s = await ort.InferenceSession.create(out);
    try {
      const px = new Float32Array(8 * 3 * 224 * 224);
      for (const [i, f] of files8.entries()) preprocessTo(await decodeRGB(f), 'dinov2-eval', 224, px, i * 3 * 224 * 224);
      const res = await s.run({ pixel_values: new ort.Tensor('float32', px, [8, 3, 224, 224]) });
      expect(Array.from(res.label!.data as BigInt64Array, Number)).toEqual(want);
    } finally {
      await s.release();
    }
  }, 120_000);
});

describe('export-model on the 88 MB ViT-S/14 fixture backbone', () => {
  it('exports in about 15 s or less, reports its size, and labels images as the app does', async () => {
    const fixture = path.join(fixtures, 'models/dinov2-vits14-random.onnx');
    const db = openDatabase(path.join(t.dir, 'vit.db'));
    try {
      const size = fs.statSync(fixture).size;
      const backboneId = insertOnnxBackbone(db, {
        name: 'vits14-fixture',
        file: fixture,
        sha256: '5ca0f17b593b309a7c1ff00e237db404e6848ddad55159055d4c489b1a37a680',
        sizeBytes: size,
        inputName: 'pixel_values',
        outputName: 'pooler_output',
        outputKind: 'pooler',
        dim: 384,
        precision: 'float32',
        imageSize: 224,
      });
      // Vectors stand in for the embeddings (embedding the set would take minutes here); samples are 32x32.
      const s = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 384, trainPerClass: 20, testPerClass: 5, backboneId, seed: 9 });
      const runId = createRun(db, { setId: s.setId, kind: 'logreg', seed: 1 }, 'job-vit');
      expect((await executeRun(db, runId, {})).status).toBe('done');
      const out = path.join(t.dir, 'vit-full.onnx');
      const r = exportModel(db, runId, { out, headOnly: false, modelsDir: t.dir });
      console.log(`export of a run on the ViT-S/14 fixture: ${r.seconds.toFixed(2)} s, ${(r.bytes / 1e6).toFixed(1)} MB`);
      expect(r.seconds).toBeLessThan(15);
      expect(r.bytes).toBe(fs.statSync(out).size);
      expect(r.bytes).toBeGreaterThan(size);
      // Two images at the set's size, through the exported model and through the app's path.
      const imgs = [];
      for (const f of ['img00_32x32_RGB.jpg', 'img01_32x32_RGB.png']) imgs.push(await decodeRGB(path.join(fixtures, 'images', f)));
      const got = await modelLabels(out, imgs);
      const embedder = await createEmbedder(
        { id: backboneId, name: 'vits14-fixture', kind: 'onnx', file: fixture, sha256: null, sizeBytes: size, inputName: 'pixel_values', outputName: 'pooler_output', outputKind: 'pooler', dim: 384, precision: 'float32', imageSize: 224, createdAt: '' },
        { provider: 'cpu', modelsDir: t.dir, graphPreprocess: { preset: 'resize-224', width: 32, height: 32 } },
      );
      let vectors: Float32Array;
      try {
        const batch = embedder.allocate(imgs.length);
        imgs.forEach((im, i) => embedder.prepare(im, 'resize-224', batch, i * embedder.inputLength));
        vectors = await embedder.embed(batch, imgs.length);
      } finally {
        await embedder.close();
      }
      const want = await loadRunClassifier(db, runId).predict(matrix(imgs.length, 384, vectors));
      expect(got).toEqual(Array.from(want));
    } finally {
      db.close();
    }
  }, 120_000);
});
