import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SVC } from '../classifiers/svc/svc';
import { openDatabase, type Db } from '../db/database';
import { loadSetMatrix } from '../embeddings/queries';
import { loadOrt } from '../onnx/ort';
import { loadRunClassifier } from '../runs/queries';
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
