import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyBackbone } from '../backbones/tiny-models';
import { getBackbone, insertOnnxBackbone, type BackboneRow } from '../backbones/queries';
import { knnHead } from '../classifiers/knn/onnx-head';
import { SVC } from '../classifiers/svc/svc';
import { createEmbedder } from '../embeddings/engine';
import { f32ToF16 } from '../embeddings/float16';
import type { RGBImage } from '../images/decode';
import { preprocessTo, type Preset } from '../images/preprocess';
import { encodeModel, OnnxType } from '../onnx/onnx-writer';
import { openDatabase, type Db } from '../db/database';
import { loadSetMatrix } from '../embeddings/queries';
import { loadOrt } from '../onnx/ort';
import { loadRunClassifier } from '../runs/models/queries';
import { insertBlobEmbeddingSet } from '../runs/test-helpers';
import { createRun, executeRun } from '../runs/train-run';
import { exportModel } from './model-export';

let dir: string;
let db: Db;
let setId: number;
let set2: number;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-export-'));
  db = openDatabase(path.join(dir, 'lab.db'));
  // Overlapping blobs, so that the heads' probabilities are far from 0/1 and the svc's votes are contested.
  setId = insertBlobEmbeddingSet(db, { numClasses: 4, dim: 16, trainPerClass: 40, testPerClass: 25, separation: 0.6, seed: 5 }).setId;
  set2 = insertBlobEmbeddingSet(db, { numClasses: 2, dim: 8, trainPerClass: 30, testPerClass: 20, separation: 0.5, seed: 6 }).setId;
});
afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function train(kind: 'mlp' | 'keras' | 'logreg' | 'knn' | 'svc', onSet = setId, params: Record<string, unknown> = {}): Promise<number> {
  const id = createRun(db, { setId: onSet, kind, seed: 3, params }, `job-${kind}-${onSet}`);
  const s = await executeRun(db, id, {});
  expect(s.status).toBe('done');
  return id;
}

async function runHead(file: string, X: { rows: number; cols: number; data: Float32Array }): Promise<Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>> {
  const ort = (await loadOrt())!;
  const session = await ort.InferenceSession.create(file);
  try {
    const out = await session.run({ embedding: new ort.Tensor('float32', X.data, [X.rows, X.cols]) });
    return out as unknown as Record<string, { data: ArrayLike<number | bigint>; dims: readonly number[] }>;
  } finally {
    await session.release();
  }
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('export-model --head-only: the app\'s labels and probabilities in onnxruntime-node', () => {
  it.each(['mlp', 'keras', 'logreg', 'knn'] as const)('%s: same label on every test row, probabilities within 1e-4', async (kind) => {
    const runId = await train(kind);
    const out = path.join(dir, `${kind}.onnx`);
    const r = exportModel(db, runId, { out, headOnly: true, modelsDir: dir });
    expect(r.bytes).toBe(fs.statSync(out).size);
    expect(r.outputs.sort()).toEqual(['label', 'probabilities']);
    const test = loadSetMatrix(db, setId, 'test');
    const clf = loadRunClassifier(db, runId);
    const proba = await clf.predictProba(test.X);
    const labels = await clf.predict(test.X);
    const got = await runHead(out, test.X);
    expect(got.probabilities!.dims).toEqual([test.X.rows, 4]);
    expect(Array.from(got.label!.data, Number)).toEqual(Array.from(labels));
    expect(maxAbsDiff(got.probabilities!.data as Float32Array, proba.data)).toBeLessThan(1e-4);
    // Not all one class: the comparison above means something.
    expect(new Set(labels).size).toBeGreaterThan(2);
  });

  it.each([
    ['4 classes', 4],
    ['2 classes', 2],
  ] as const)('svc (%s): the one-vs-one vote gives the app\'s label, decision values within 1e-4', async (_name, classes) => {
    const onSet = classes === 4 ? setId : set2;
    const runId = await train('svc', onSet);
    const out = path.join(dir, `svc-${classes}.onnx`);
    const r = exportModel(db, runId, { out, headOnly: true, modelsDir: dir });
    expect(r.outputs.sort()).toEqual(['decision_values', 'label']);
    const test = loadSetMatrix(db, onSet, 'test');
    const clf = loadRunClassifier(db, runId);
    if (!(clf instanceof SVC)) throw new Error('expected an SVC');
    const labels = await clf.predict(test.X);
    const dec = clf.decisionFunction(test.X);
    const got = await runHead(out, test.X);
    expect(got.decision_values!.dims).toEqual([test.X.rows, (classes * (classes - 1)) / 2]);
    expect(maxAbsDiff(got.decision_values!.data as Float32Array, dec.data)).toBeLessThan(1e-4);
    expect(Array.from(got.label!.data, Number)).toEqual(Array.from(labels));
  });

  it('writes class names, provenance and the input description into metadata_props', async () => {
    const runId = await train('logreg');
    const out = path.join(dir, 'meta.onnx');
    exportModel(db, runId, { out, headOnly: true, modelsDir: dir });
    const ort = (await loadOrt())!;
    const s = await ort.InferenceSession.create(out);
    // onnxruntime-node does not expose metadata_props; read them back from the protobuf bytes instead.
    await s.release();
    const text = fs.readFileSync(out).toString('latin1');
    expect(text).toContain('dinolab.classes');
    expect(text).toContain(JSON.stringify(['class0', 'class1', 'class2', 'class3']));
    for (const key of ['dinolab.dataset_fingerprint', 'dinolab.backbone', 'dinolab.preset', 'dinolab.kind', 'dinolab.params', 'dinolab.seed', 'dinolab.metrics_test', 'dinolab.app_version', 'dinolab.input']) {
      expect(text).toContain(key);
    }
  });

  it('refuses an unfinished or deleted run with a message naming what is missing', () => {
    const queued = createRun(db, { setId, kind: 'logreg', seed: 1 }, 'job-q');
    expect(() => exportModel(db, queued, { out: path.join(dir, 'q.onnx'), headOnly: true, modelsDir: dir })).toThrow(/only finished runs/);
    expect(() => exportModel(db, 99999, { out: path.join(dir, 'x.onnx'), headOnly: true, modelsDir: dir })).toThrow(/Run 99999 does not exist.*embedding set, dataset or backbone/);
    expect(fs.existsSync(path.join(dir, 'q.onnx'))).toBe(false);
  });
});

describe('export-model, full model: backbone + preprocessing + head in one graph', () => {
  function rgbImages(n: number, width: number, height: number, seed: number): RGBImage[] {
    let s = seed >>> 0;
    const rnd = (): number => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0), s / 4294967296);
    return Array.from({ length: n }, () => {
      // Smooth gradients plus noise: resizes of it are not trivially flat.
      const data = new Uint8Array(width * height * 3);
      const [a, b, c] = [rnd(), rnd(), rnd()];
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++)
          for (let ch = 0; ch < 3; ch++) data[(y * width + x) * 3 + ch] = Math.min(255, Math.floor(255 * ((a * x) / width + (b * y) / height + c * ch) / 2.5 + 40 * rnd()));
      return { data, width, height };
    });
  }

  function onnxBackbone(file: string, bytes: Uint8Array, f: { dim: number; size: number; precision: 'float32' | 'float16' }): BackboneRow {
    fs.writeFileSync(file, bytes);
    const id = insertOnnxBackbone(db, { name: path.basename(file), file, sha256: 'x'.repeat(64), sizeBytes: bytes.length, inputName: 'pixel_values', outputName: 'pooler_output', outputKind: 'pooler', dim: f.dim, precision: f.precision, imageSize: f.size });
    return getBackbone(db, id);
  }

  async function appPredict(runId: number, backbone: BackboneRow, imgs: RGBImage[], preset: Preset, graph: boolean): Promise<{ proba: Float32Array; labels: number[] }> {
    const embedder = await createEmbedder(backbone, { provider: 'cpu', modelsDir: dir, graphPreprocess: graph ? { preset, width: imgs[0]!.width, height: imgs[0]!.height } : undefined });
    let v: Float32Array;
    try {
      const batch = embedder.allocate(imgs.length);
      imgs.forEach((im, i) => embedder.prepare(im, preset, batch, i * embedder.inputLength));
      v = await embedder.embed(batch, imgs.length);
    } finally {
      await embedder.close();
    }
    const clf = loadRunClassifier(db, runId);
    const X = { rows: imgs.length, cols: v.length / imgs.length, data: v };
    return { proba: (await clf.predictProba(X)).data, labels: Array.from(await clf.predict(X)) };
  }

  async function runModel(file: string, feeds: Record<string, { type: 'uint8' | 'float32'; data: Uint8Array | Float32Array; dims: number[] }>): Promise<{ proba: Float32Array; labels: number[] }> {
    const ort = (await loadOrt())!;
    const s = await ort.InferenceSession.create(file);
    try {
      const out = await s.run(Object.fromEntries(Object.entries(feeds).map(([k, f]) => [k, new ort.Tensor(f.type, f.data, f.dims)])));
      return { proba: out.probabilities!.data as Float32Array, labels: Array.from(out.label!.data as BigInt64Array, Number) };
    } finally {
      await s.release();
    }
  }

  it('fp16 backbone stays fp16 inside; uint8 image input; same labels and probabilities as the app\'s embedding path', async () => {
    // A float16 backbone with a float16 weight: pooler = mean over positions * w.
    const w16 = f32ToF16(Float32Array.of(1.5, -2, 0.75));
    const model = encodeModel({
      inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT16, shape: ['batch', 3, 14, 14] }],
      outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT16, shape: ['batch', 3] }],
      initializers: [{ name: 'w', type: OnnxType.FLOAT16, dims: [3], raw: new Uint8Array(w16.buffer) }],
      nodes: [
        { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['m'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
        { op: 'Mul', inputs: ['m', 'w'], outputs: ['pooler_output'] },
      ],
    });
    const bb = onnxBackbone(path.join(dir, 'f16.onnx'), model, { dim: 3, size: 14, precision: 'float16' });
    const s = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 3, trainPerClass: 30, testPerClass: 5, separation: 0.3, backboneId: bb.id, seed: 12 }).setId;
    const runId = await train('logreg', s);
    const out = path.join(dir, 'f16-full.onnx');
    const r = exportModel(db, runId, { out, headOnly: false, modelsDir: dir });
    expect(r.input).toEqual({ name: 'image', type: 'uint8', shape: ['batch', 32, 32, 3] });
    // The backbone's float16 weight is in the exported file as float16 bytes, not converted.
    expect(Buffer.from(fs.readFileSync(out)).indexOf(Buffer.from(w16.buffer))).toBeGreaterThan(0);
    const imgs = rgbImages(6, 32, 32, 1);
    const x = new Uint8Array(6 * 32 * 32 * 3);
    imgs.forEach((im, i) => x.set(im.data, i * 32 * 32 * 3));
    const got = await runModel(out, { image: { type: 'uint8', data: x, dims: [6, 32, 32, 3] } });
    const want = await appPredict(runId, bb, imgs, 'resize-224', true);
    expect(got.labels).toEqual(want.labels);
    expect(maxAbsDiff(got.proba, want.proba)).toBeLessThan(1e-4);
  });

  it('a dataset of several image sizes: pixel_values input, preprocessing in the metadata, same as the app\'s JS path', async () => {
    const bb = onnxBackbone(path.join(dir, 'tiny28.onnx'), tinyBackbone({ dim: 8, size: 28, patch: 14, seed: 3 }), { dim: 8, size: 28, precision: 'float32' });
    const { setId: s, datasetId } = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 8, trainPerClass: 30, testPerClass: 5, separation: 0.5, backboneId: bb.id, seed: 13 });
    db.prepare('UPDATE samples SET width = 64, height = 48 WHERE id = (SELECT MIN(id) FROM samples WHERE dataset_id = ?)').run(datasetId);
    const runId = await train('mlp', s, { epochs: 3 });
    const out = path.join(dir, 'pix-full.onnx');
    const r = exportModel(db, runId, { out, headOnly: false, modelsDir: dir });
    expect(r.input).toEqual({ name: 'pixel_values', type: 'float32', shape: ['batch', 3, 28, 28] });
    expect(fs.readFileSync(out).toString('latin1')).toContain('dinolab.preprocessing');
    const imgs = [...rgbImages(2, 50, 40, 2), ...rgbImages(2, 30, 60, 3)];
    const px = new Float32Array(imgs.length * 3 * 28 * 28);
    imgs.forEach((im, i) => preprocessTo(im, 'resize-224', 28, px, i * 3 * 28 * 28));
    const got = await runModel(out, { pixel_values: { type: 'float32', data: px, dims: [imgs.length, 3, 28, 28] } });
    const want = await appPredict(runId, bb, imgs, 'resize-224', false);
    expect(got.labels).toEqual(want.labels);
    expect(maxAbsDiff(got.proba, want.proba)).toBeLessThan(1e-4);
  });

  it('raw-pixels: the front end is a resize-to-32x32-and-flatten graph matching the app\'s', async () => {
    const rawId = (db.prepare("SELECT id FROM backbones WHERE kind = 'raw-pixels' LIMIT 1").get() as { id: number } | undefined)?.id;
    const bbId = rawId ?? Number(db.prepare("INSERT INTO backbones (name, kind, dim, created_at) VALUES ('raw-3072', 'raw-pixels', 3072, 'now')").run().lastInsertRowid);
    const { setId: s, datasetId } = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 3072, trainPerClass: 15, testPerClass: 5, separation: 0.2, backboneId: bbId, seed: 14 });
    db.prepare('UPDATE samples SET width = 40, height = 24 WHERE dataset_id = ?').run(datasetId);
    const runId = await train('logreg', s);
    const out = path.join(dir, 'raw-full.onnx');
    const r = exportModel(db, runId, { out, headOnly: false, modelsDir: dir });
    expect(r.input).toEqual({ name: 'image', type: 'uint8', shape: ['batch', 24, 40, 3] });
    const imgs = rgbImages(5, 40, 24, 4);
    const x = new Uint8Array(5 * 40 * 24 * 3);
    imgs.forEach((im, i) => x.set(im.data, i * 40 * 24 * 3));
    const got = await runModel(out, { image: { type: 'uint8', data: x, dims: [5, 24, 40, 3] } });
    const want = await appPredict(runId, getBackbone(db, bbId), imgs, 'resize-224', false);
    expect(got.labels).toEqual(want.labels);
    expect(maxAbsDiff(got.proba, want.proba)).toBeLessThan(1e-4);
  });
});

describe('the k-NN head warns when it is large', () => {
  it('says how many training vectors travel inside and their size', () => {
    const n = 9000;
    const D = 3072;
    const head = knnHead({ input: 'x' }, { train: new Float32Array(n * D), labels: new Int32Array(n), D, C: 10, k: 20, temperature: 0.07 });
    expect(head.notes).toEqual(['The k-NN head holds its 9,000 training vectors of 3072 values: 111 MB.']);
    expect(knnHead({ input: 'x' }, { train: new Float32Array(100 * D), labels: new Int32Array(100), D, C: 10, k: 20, temperature: 0.07 }).notes).toEqual([]);
  });
});

describe('a backbone with external weights', () => {
  it('is exported as the model plus its weight file next to it, and runs from there', async () => {
    const src = path.join(dir, 'ext-src');
    fs.mkdirSync(src, { recursive: true });
    const size = 28;
    const w = new Float32Array(8 * 3 * 14 * 14).map((_, i) => Math.sin(i) * 0.05);
    fs.writeFileSync(path.join(src, 'weights.bin'), Buffer.from(w.buffer));
    const model = encodeModel({
      inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, size, size] }],
      outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT, shape: ['batch', 8] }],
      initializers: [{ name: 'w', type: OnnxType.FLOAT, dims: [8, 3, 14, 14], raw: new Uint8Array(0), external: { location: 'weights.bin', offset: 0, length: w.byteLength } }],
      nodes: [
        { op: 'Conv', inputs: ['pixel_values', 'w'], outputs: ['c'], attrs: { kernel_shape: { ints: [14, 14] }, strides: { ints: [14, 14] } } },
        { op: 'ReduceMean', inputs: ['c'], outputs: ['pooler_output'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
      ],
    });
    const file = path.join(src, 'model.onnx');
    fs.writeFileSync(file, model);
    const id = insertOnnxBackbone(db, { name: 'external', file, sha256: 'e'.repeat(64), sizeBytes: model.length, inputName: 'pixel_values', outputName: 'pooler_output', outputKind: 'pooler', dim: 8, precision: 'float32', imageSize: size });
    const s = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 8, trainPerClass: 20, testPerClass: 5, separation: 0.4, backboneId: id, seed: 15 }).setId;
    const runId = await train('logreg', s);
    const outDir = path.join(dir, 'ext-out');
    const r = exportModel(db, runId, { out: path.join(outDir, 'model.onnx'), headOnly: false, modelsDir: dir });
    expect(r.extraFiles).toEqual([path.join(outDir, 'weights.bin')]);
    expect(fs.readFileSync(r.extraFiles[0]!)).toEqual(fs.readFileSync(path.join(src, 'weights.bin')));
    const ort = (await loadOrt())!;
    const session = await ort.InferenceSession.create(r.file);
    try {
      const x = new Uint8Array(2 * 32 * 32 * 3).map((_, i) => (i * 37) % 256);
      const out = await session.run({ image: new ort.Tensor('uint8', x, [2, 32, 32, 3]) });
      expect(out.label!.dims).toEqual([2]);
      expect(Array.from(out.probabilities!.data as Float32Array).every(Number.isFinite)).toBe(true);
    } finally {
      await session.release();
    }
  });
});

describe('a model over protobuf\'s limit', () => {
  it('keeps the head\'s weights in a data file next to the model, which still gives the app\'s labels; refuses what cannot fit', async () => {
    const runId = await train('knn');
    const out = path.join(dir, 'big', 'knn.onnx');
    // The limit lowered so that this small k-NN head counts as too large for one file.
    const r = exportModel(db, runId, { out, headOnly: true, modelsDir: dir, protobufLimit: 1 << 24 });
    expect(r.extraFiles).toEqual([]);
    const r2 = exportModel(db, runId, { out, headOnly: true, modelsDir: dir, protobufLimit: 200_000 });
    expect(r2.extraFiles).toEqual([`${out}.data`]);
    expect(r2.notes.join(' ')).toMatch(/knn\.onnx\.data next to the model/);
    expect(r2.bytes).toBeLessThan(20_000);
    const test = loadSetMatrix(db, setId, 'test');
    const got = await runHead(out, test.X);
    const clf = loadRunClassifier(db, runId);
    expect(Array.from(got.label!.data, Number)).toEqual(Array.from(await clf.predict(test.X)));
    expect(maxAbsDiff(got.probabilities!.data as Float32Array, (await clf.predictProba(test.X)).data)).toBeLessThan(1e-4);
    expect(() => exportModel(db, runId, { out: path.join(dir, 'big', 'no.onnx'), headOnly: true, modelsDir: dir, protobufLimit: 1000 })).toThrow(/over protobuf's 2 GB limit/);
    expect(fs.existsSync(path.join(dir, 'big', 'no.onnx'))).toBe(false);
  });
});
