/**
 * Label-efficiency sweeps on a real SQLite file with real classifiers: stratified subsets keep every class,
 * tiny subsets turn validation off and clamp k-NN's k (said on the run), the fraction-1 run of repeat r
 * equals a plain run with seed + r, and a resumed sweep keeps its finished runs and redoes none of them.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { openDatabase, type Db } from '../db/database';
import { loadSetData } from '../embeddings/queries';
import { loadRunClassifier } from '../runs/models/queries';
import { getRun } from '../runs/queries';
import { insertBlobEmbeddingSet } from '../runs/test-helpers';
import { createRun, executeRun } from '../runs/train-run';
import { insertSweep, listSweepRuns } from './queries';
import { minPerClass, stratifiedSubset } from './subset';
import { runSweep, sweepInfo } from './sweep';

const t = tempDir('dinolab-sweep-');
let db: Db;
let setId = 0;
beforeAll(() => {
  db = openDatabase(path.join(t.dir, 'lab.db'));
  // 4 classes of unequal size (uneven splits happen), 8-d blobs.
  setId = insertBlobEmbeddingSet(db, { numClasses: 4, dim: 8, trainPerClass: 30, testPerClass: 15, separation: 0.9, seed: 5, name: 'Blobs' }).setId;
});
afterAll(() => {
  db?.close();
  t.cleanup();
});

describe('stratified subsets', () => {
  it('keep every class at every size, keep the split order, and are seeded', () => {
    const y = Int32Array.from({ length: 1003 }, (_, i) => (i % 97 === 0 ? 9 : i % 9)); // class 9 is rare (11 rows)
    for (const f of [0.001, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1]) {
      const rows = stratifiedSubset(y, { mode: 'fraction', value: f }, 3);
      expect(new Set(Array.from(rows, (r) => y[r]))).toEqual(new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
      expect(Array.from(rows)).toEqual(Array.from(rows).sort((a, b) => a - b));
      expect(minPerClass(y, rows)).toBeGreaterThanOrEqual(1);
    }
    expect(Array.from(stratifiedSubset(y, { mode: 'fraction', value: 1 }, 3))).toEqual(Array.from({ length: 1003 }, (_, i) => i));
    const k5 = stratifiedSubset(y, { mode: 'per_class', value: 5 }, 3);
    expect(k5.length).toBe(50);
    expect(Array.from(stratifiedSubset(y, { mode: 'per_class', value: 5 }, 3))).toEqual(Array.from(k5));
    expect(Array.from(stratifiedSubset(y, { mode: 'per_class', value: 5 }, 4))).not.toEqual(Array.from(k5));
    // More than a class has: all of it.
    expect(stratifiedSubset(y, { mode: 'per_class', value: 50 }, 3).length).toBe(9 * 50 + 11);
  });
});

describe('label sweep', () => {
  it('trains sizes x repeats x kinds as grouped runs; tiny subsets say what changed; fraction 1 equals a plain run', async () => {
    const sweepId = insertSweep(db, { setId, kinds: ['logreg', 'knn', 'mlp'], sizes: { mode: 'per_class', values: [2, 30] }, repeats: 2, seed: 11 });
    const r = await runSweep(db, sweepId);
    expect(r).toEqual({ sweepId, trained: 12, kept: 0, failed: 0, total: 12 });
    const info = sweepInfo(db, sweepId);
    expect(info).toMatchObject({ status: 'done', done: 12, total: 12, numClasses: 4, mode: 'per_class', sizes: [2, 30] });
    const y = loadSetData(db, setId).train.y;
    for (const sr of info.runs) {
      const run = getRun(db, sr.runId);
      expect(run.status).toBe('done');
      expect(run.sweep_id).toBe(sweepId);
      expect(sr.trainRows).toBe(sr.sizeIndex === 0 ? 8 : 120);
      expect(minPerClass(y, stratifiedSubset(y, { mode: 'per_class', value: info.sizes[sr.sizeIndex]! }, 11 + sr.repeat))).toBe(sr.sizeIndex === 0 ? 2 : 30);
      if (sr.sizeIndex === 0) {
        // 2 images per class: no validation split; k-NN's k (20) clamped to the 8 images.
        expect(run.notes).toMatch(/Label sweep/);
        if (sr.kind === 'knn') expect(run.params).toMatchObject({ k: 8 });
        else expect(run.params).toMatchObject({ validationFraction: 0 });
      } else {
        expect(run.notes ?? null).toBeNull();
      }
    }
    // A k-NN run of a subset keeps only its subset's rows (by sample id): reloaded from the file, it predicts
    // the test split as it did when it was trained (with the whole split it would vote with every row).
    const test = loadSetData(db, setId).test;
    for (const sr of info.runs.filter((x) => x.kind === 'knn')) {
      const stored = getRun(db, sr.runId).metrics.test!.accuracy;
      const pred = await loadRunClassifier(db, sr.runId).predict(test.X);
      let ok = 0;
      pred.forEach((p, i) => (ok += p === test.y[i] ? 1 : 0));
      expect(ok / test.y.length).toBeCloseTo(stored, 12);
    }
    const mlpTiny = info.points.find((p) => p.kind === 'mlp' && p.sizeIndex === 0)!;
    expect(mlpTiny.notes.join(' ')).toMatch(/best-epoch selection off/);
    expect(mlpTiny.perClass).toBe(2);
    // Mean and sample standard deviation over the two repeats, from the runs' stored test metrics.
    for (const p of info.points) {
      const acc = info.runs.filter((x) => x.kind === p.kind && x.sizeIndex === p.sizeIndex).map((x) => getRun(db, x.runId).metrics.test!.accuracy);
      expect(p.accuracy.mean).toBeCloseTo((acc[0]! + acc[1]!) / 2, 12);
      expect(p.accuracy.std).toBeCloseTo(Math.abs(acc[0]! - acc[1]!) / Math.SQRT2, 12);
    }
    // The whole split (30 per class = every row) of repeat 1 equals `train --seed 12`, kind by kind.
    for (const kind of ['logreg', 'knn', 'mlp'] as const) {
      const sweepRun = getRun(db, info.runs.find((x) => x.kind === kind && x.sizeIndex === 1 && x.repeat === 1)!.runId);
      const plainId = createRun(db, { setId, kind, seed: 12 });
      await executeRun(db, plainId);
      const plain = getRun(db, plainId);
      expect(sweepRun.params).toEqual(plain.params);
      expect(sweepRun.metrics.test).toEqual(plain.metrics.test);
      expect(sweepRun.metrics.train).toEqual(plain.metrics.train);
      expect(sweepRun.metrics.test!.accuracy).toBeGreaterThan(0.5);
    }
  }, 240_000);

  it('a cancelled sweep resumes without redoing a finished run', async () => {
    const sweepId = insertSweep(db, { setId, kinds: ['logreg', 'knn'], sizes: { mode: 'fraction', values: [0.5, 1] }, repeats: 2, seed: 0 });
    const ac = new AbortController();
    await expect(
      runSweep(db, sweepId, {
        signal: ac.signal,
        onProgress: (done) => {
          if (done === 3) ac.abort(); // cancel while the fourth run trains
        },
      }),
    ).rejects.toThrow(/Cancelled/);
    expect(sweepInfo(db, sweepId)).toMatchObject({ status: 'cancelled', done: 3 });
    const before = listSweepRuns(db, sweepId);
    const finished = before.filter((r) => r.status === 'done');
    expect(finished).toHaveLength(3);
    expect(before.filter((r) => r.status === 'cancelled')).toHaveLength(1);
    const ended = new Map(finished.map((r) => [r.run_id, getRun(db, r.run_id).finished_at]));
    const r = await runSweep(db, sweepId);
    expect(r).toEqual({ sweepId, trained: 5, kept: 3, failed: 0, total: 8 });
    const after = listSweepRuns(db, sweepId);
    expect(after.every((x) => x.status === 'done')).toBe(true);
    for (const [id, at] of ended) {
      expect(after.some((x) => x.run_id === id)).toBe(true);
      expect(getRun(db, id).finished_at).toBe(at);
    }
    // The cancelled run was replaced, not left behind in the group.
    expect(db.prepare('SELECT COUNT(*) FROM runs WHERE sweep_id = ?').pluck().get(sweepId)).toBe(8);
  }, 240_000);
});
