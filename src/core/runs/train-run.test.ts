import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KnnClassifier } from '../classifiers/knn/knn';
import { LogregClassifier } from '../classifiers/logreg/logreg';
import { openDatabase, type Db } from '../db/database';
import { LabError } from '../errors';
import { loadSetData } from '../embeddings/queries';
import { clearModelCache, predictWithRun } from './models/queries';
import { compareRuns, exportRun, getRun, listRuns, markInterruptedRuns } from './queries';
import { estimateRun } from './estimate';
import { insertBlobEmbeddingSet } from './test-helpers';
import { createRun, executeRun, TRAIN_METRIC_MAX_ROWS, trainMetricRows } from './train-run';

let dir: string;
let file: string;
let db: Db;
let setId: number;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-runs-'));
  file = path.join(dir, 'lab.db');
  db = openDatabase(file);
  setId = insertBlobEmbeddingSet(db, { numClasses: 4, dim: 16, trainPerClass: 50, testPerClass: 20, separation: 0.8, seed: 3 }).setId;
});
afterAll(() => {
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

const KINDS = ['mlp', 'keras', 'logreg', 'knn'] as const;

describe('training runs', () => {
  const runIds: Record<string, number> = {};

  it.each(KINDS)('%s trains through createRun/executeRun and stores everything', async (kind) => {
    const epochsSeen: number[] = [];
    const id = createRun(db, { setId, kind, seed: 11 }, `job-${kind}`);
    expect(getRun(db, id).status).toBe('queued');
    const s = await executeRun(db, id, { onEpoch: (rid, log) => (expect(rid).toBe(id), epochsSeen.push(log.epoch)) });
    runIds[kind] = id;
    expect(s.status).toBe('done');
    // Well separated blobs: every kind must learn them.
    expect(s.test!.accuracy).toBeGreaterThan(0.8);
    const r = getRun(db, id);
    expect(r.status).toBe('done');
    expect(r.fingerprint).toMatch(/^fp-/);
    // The engine it trained on is recorded: keras trains on the mlp's onnxruntime engine (onnxruntime-node is installed here).
    if (kind === 'keras') expect(r.backend).toBe('onnxruntime-cpu');
    else expect(r.backend).toMatch(kind === 'mlp' || kind === 'knn' || kind === 'logreg' ? /^(onnxruntime-cpu|tfjs-|wasm|tensorflow|cpu)/ : /^(wasm|tensorflow|cpu)/);
    expect(r.model_bytes).toBeGreaterThan(0);
    expect(r.fit_seconds).toBeGreaterThan(0);
    expect(r.predict_rows_per_sec).toBeGreaterThan(0);
    expect(r.metrics.test!.accuracy).toBeCloseTo(s.test!.accuracy, 12);
    expect(r.metrics.train!.confusion.length).toBe(4);
    if (kind === 'mlp' || kind === 'keras') {
      expect(epochsSeen).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(r.epochs.length).toBe(25);
      expect(r.epochs[0]).toHaveProperty('val_accuracy');
      expect(r.epochs[0]).toHaveProperty('loss');
    }
    const n = (db.prepare('SELECT COUNT(*) AS n FROM predictions WHERE run_id = ?').get(id) as { n: number }).n;
    expect(n).toBe(80);
  });

  it('a reloaded database predicts the same labels for every kind', async () => {
    const data = loadSetData(db, setId);
    const stored = new Map<number, number[]>();
    for (const kind of KINDS) {
      const rows = db.prepare('SELECT predicted FROM predictions WHERE run_id = ? ORDER BY sample_id').all(runIds[kind]!) as { predicted: number }[];
      stored.set(runIds[kind]!, rows.map((r) => r.predicted));
    }
    const db2 = openDatabase(file);
    try {
      for (const kind of KINDS) {
        const { predicted, proba } = await predictWithRun(db2, runIds[kind]!, data.test.X);
        expect(Array.from(predicted), kind).toEqual(stored.get(runIds[kind]!));
        for (let i = 0; i < proba.rows; i++) {
          let s = 0;
          for (let c = 0; c < proba.cols; c++) s += proba.data[i * proba.cols + c]!;
          expect(s).toBeCloseTo(1, 5);
        }
      }
    } finally {
      db2.close();
    }
  });

  it.each(['mlp', 'logreg', 'knn'] as const)('%s: same seed and data give the same metrics', async (kind) => {
    const id = createRun(db, { setId, kind, seed: 11 });
    const s = await executeRun(db, id);
    const first = getRun(db, runIds[kind]!);
    expect(s.test).toEqual(first.metrics.test);
    expect(s.train).toEqual(first.metrics.train);
  });

  it('compares, lists and exports runs', () => {
    const rows = compareRuns(db, setId);
    expect(rows.length).toBeGreaterThanOrEqual(4);
    const knn = rows.find((r) => r.id === runIds.knn)!;
    expect(knn.kind).toBe('knn');
    expect(knn.test_accuracy).toBeGreaterThan(0.8);
    expect(knn.train_f1_macro).not.toBeNull();
    expect(listRuns(db, setId).length).toBe(rows.length);
    expect(listRuns(db, setId + 999)).toEqual([]);
    const out = path.join(dir, 'export');
    const res = exportRun(db, runIds.logreg!, out);
    expect(res.rows).toBe(80);
    const csv = fs.readFileSync(res.predictionsFile, 'utf8').trim().split('\n');
    expect(csv[0]).toBe('sample_id,split,label,predicted,p_0,p_1,p_2,p_3');
    expect(csv.length).toBe(81);
    const cells = csv[1]!.split(',');
    expect(cells[1]).toBe('test');
    const ps = cells.slice(4).map(Number);
    expect(ps.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
    const metrics = JSON.parse(fs.readFileSync(res.metricsFile, 'utf8')) as { test: { accuracy: number }; run: { kind: string } };
    expect(metrics.run.kind).toBe('logreg');
    expect(metrics.test.accuracy).toBe(getRun(db, runIds.logreg!).metrics.test!.accuracy);
  });

  it("selectOn 'test' selects on the test set (as the study did)", async () => {
    const id = createRun(db, { setId, kind: 'mlp', params: { selectOn: 'test', epochs: 5 }, seed: 2 });
    const s = await executeRun(db, id);
    const r = getRun(db, id);
    // Validation logs are computed on the test set, so the best val_accuracy equals the stored test accuracy.
    const best = Math.max(...r.epochs.map((e) => e.val_accuracy!));
    expect(s.test!.accuracy).toBeCloseTo(best, 12);
  });
});

describe('run errors', () => {
  it('rejects invalid params with a readable LabError', () => {
    try {
      createRun(db, { setId, kind: 'knn', params: { k: 0 } });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(LabError);
      expect((e as LabError).code).toBe('invalid_input');
      expect((e as LabError).message).toMatch(/k:/);
    }
    expect(() => createRun(db, { setId: 99999, kind: 'knn' })).toThrow(/does not exist/);
  });

  it('fails a run on an incomplete embedding set, with the reason', async () => {
    const other = insertBlobEmbeddingSet(db, { status: 'partial', seed: 5 }).setId;
    const id = createRun(db, { setId: other, kind: 'knn' });
    await expect(executeRun(db, id)).rejects.toThrow(/not complete/);
    const r = getRun(db, id);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/partial/);
  });

  it('cancels a run when the signal fires', async () => {
    const ac = new AbortController();
    const id = createRun(db, { setId, kind: 'keras', params: { epochs: 50 } });
    const p = executeRun(db, id, { signal: ac.signal, onEpoch: (_r, log) => log.epoch === 2 && ac.abort() });
    await expect(p).rejects.toMatchObject({ code: 'cancelled' });
    expect(getRun(db, id).status).toBe('cancelled');
    expect(() => exportRun(db, id, path.join(dir, 'x'))).toThrow(/only finished/);
  });

  it('marks runs left running as interrupted', () => {
    const id = createRun(db, { setId, kind: 'knn' });
    db.prepare("UPDATE runs SET status = 'running' WHERE id = ?").run(id);
    expect(markInterruptedRuns(db)).toBe(1);
    expect(getRun(db, id).status).toBe('interrupted');
  });

  it('train metrics use a seeded subsample of at most 10,000 rows (k-NN leave-one-out); test metrics the whole split', async () => {
    expect(Array.from(trainMetricRows(5, 1))).toEqual([0, 1, 2, 3, 4]);
    const a = trainMetricRows(25_000, 1);
    expect(a.length).toBe(TRAIN_METRIC_MAX_ROWS);
    expect(new Set(a).size).toBe(a.length);
    expect(a.every((v, i) => i === 0 || v > a[i - 1]!)).toBe(true);
    expect(Array.from(trainMetricRows(25_000, 1))).toEqual(Array.from(a));
    expect(Array.from(trainMetricRows(25_000, 2))).not.toEqual(Array.from(a));
    // 10,400 training rows: the k-NN train score is measured on 10,000 of them, each left out of its own vote.
    const big = insertBlobEmbeddingSet(db, { numClasses: 4, dim: 8, trainPerClass: 2600, testPerClass: 30, separation: 0.3, seed: 8 }).setId;
    const id = createRun(db, { setId: big, kind: 'knn', params: { k: 1 }, seed: 4 });
    const s = await executeRun(db, id);
    expect(s.trainRows).toBe(10_400);
    expect(s.trainMetricRows).toBe(10_000);
    expect(s.train.confusion.flat().reduce((x, y) => x + y, 0)).toBe(10_000);
    expect(s.test!.confusion.flat().reduce((x, y) => x + y, 0)).toBe(120);
    // 1-NN: without leave-one-out every row would find itself (similarity 1) and score exactly 1.
    expect(s.train.accuracy).toBeLessThan(0.99);
    expect(getRun(db, id).train_metric_rows).toBe(10_000);
    expect(compareRuns(db, big)[0]!.train_metric_rows).toBe(10_000);
  });

  it('k-NN and logreg score the test split once: their labels are argmax of the probabilities, the same as predict() gives', async () => {
    for (const [kind, cls] of [
      ['knn', KnnClassifier],
      ['logreg', LogregClassifier],
    ] as const) {
      const predict = vi.spyOn(cls.prototype, 'predict');
      const proba = vi.spyOn(cls.prototype, 'predictProba');
      try {
        const id = createRun(db, { setId, kind, seed: 4 });
        await executeRun(db, id);
        // The test split (80 rows; the training split has 200) goes through predictProba once, never predict().
        expect(predict.mock.calls.filter(([X]) => X.rows === 80).length, kind).toBe(0);
        expect(proba.mock.calls.filter(([X]) => X.rows === 80).length, kind).toBe(1);
        const stored = (db.prepare('SELECT predicted FROM predictions WHERE run_id = ? ORDER BY sample_id').all(id) as { predicted: number }[]).map((r) => r.predicted);
        predict.mockRestore();
        clearModelCache(db);
        const { predicted } = await predictWithRun(db, id, loadSetData(db, setId).test.X);
        expect(Array.from(predicted), kind).toEqual(stored);
      } finally {
        predict.mockRestore();
        proba.mockRestore();
      }
    }
  });

  it('svc scores the test split once: predict() after predictProba() on the same rows reuses the decision values', async () => {
    const model = await import('../classifiers/svc/svc-model');
    const id = createRun(db, { setId, kind: 'svc', seed: 4, params: { probability: false } });
    const dec = vi.spyOn(model, 'libsvmDecisionFast');
    try {
      await executeRun(db, id);
      // Once on the test split (80 rows), once on the training rows for the train metrics (200).
      expect(dec.mock.calls.map(([, X]) => X.rows).sort()).toEqual([200, 80]);
    } finally {
      dec.mockRestore();
    }
    // The stored labels are the vote predict() gives on its own.
    const stored = (db.prepare('SELECT predicted FROM predictions WHERE run_id = ? ORDER BY sample_id').all(id) as { predicted: number }[]).map((r) => r.predicted);
    clearModelCache(db);
    const { predicted } = await predictWithRun(db, id, loadSetData(db, setId).test.X);
    expect(Array.from(predicted)).toEqual(stored);
  });

  it('maxRows trains on a seeded subsample; a capped k-NN reloads its own rows and predicts the same', async () => {
    expect(() => createRun(db, { setId, kind: 'knn', maxRows: 1 })).toThrow(/maxRows/);
    for (const kind of ['knn', 'logreg'] as const) {
      const id = createRun(db, { setId, kind, seed: 2, maxRows: 60 });
      const s = await executeRun(db, id);
      expect(s.trainRows).toBe(60);
      expect(s.testRows).toBe(80);
      expect(getRun(db, id).max_train_rows).toBe(60);
      const stored = (db.prepare('SELECT predicted FROM predictions WHERE run_id = ? ORDER BY sample_id').all(id) as { predicted: number }[]).map((r) => r.predicted);
      clearModelCache(db);
      const { predicted } = await predictWithRun(db, id, loadSetData(db, setId).test.X);
      expect(Array.from(predicted), kind).toEqual(stored);
    }
  });

  it('estimates a run before it starts from this machine\'s finished runs, warns past 30 min and the suggested cap brings it under', () => {
    const fresh = insertBlobEmbeddingSet(db, { numClasses: 2, dim: 16, trainPerClass: 1000, testPerClass: 10, seed: 12 }).setId;
    // Nothing measured yet for svc in this database (the svc run of an earlier case removed): scaled from the
    // committed reference rates, and it says so.
    db.prepare("DELETE FROM runs WHERE kind = 'svc'").run();
    expect(estimateRun(db, fresh, 'svc')).toMatchObject({ reference: true, basis: expect.stringMatching(/No finished svc run on this machine yet: scaled from the reference rate/) });
    // A finished svc run measured here: 200 x 16 rows fitted in 100 s, 1,000 rows/s predicted.
    const past = createRun(db, { setId, kind: 'svc', seed: 0 });
    db.prepare("UPDATE runs SET status = 'done', fit_seconds = 100, predict_rows_per_sec = 1000 WHERE id = ?").run(past);
    const e = estimateRun(db, fresh, 'svc');
    // svc fit grows as n^2: (2,000 / 200)^2 x 100 s = 10,000 s, plus 2,020 rows scored (20 test rows once,
    // 2,000 train) at 1,000 rows/s, x 10 (each row against 10 times the support vectors).
    expect(e.reference).toBe(false);
    expect(e.seconds).toBeCloseTo(10_000 + 20.2, 6);
    expect(e.warning).toMatch(/over 30 min.*--max-rows (\d+)/);
    const cap = Number(/--max-rows (\d+)/.exec(e.warning!)![1]);
    const capped = estimateRun(db, fresh, 'svc', cap);
    expect(capped.trainRows).toBe(cap);
    expect(capped.seconds!).toBeLessThan(30 * 60);
    expect(capped.warning).toBeNull();
    db.prepare('DELETE FROM runs WHERE id = ?').run(past);
  });
});
