/**
 * The pre-start estimate: how it scales a measured point to a set's size (hand-computed values), which
 * point it scales from (this machine's nearest run, else the committed reference rates, said so), the row
 * cap it suggests past 30 minutes, the sum over several runs (every kind on a set, an experiment), and
 * the ETA a running run reports from it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFIER_KINDS } from '../../shared/contract';
import { openDatabase, type Db } from '../db/database';
import { estimateExperiment } from '../experiment/plan';
import { blend, RunEta } from './eta';
import { chooseBasis, estimateForSize, estimateRun, estimateSetRuns, LONG_RUN_SECONDS, referencePoints, scaleFromPoint } from './estimate';
import type { MeasuredRun } from './queries';
import { insertBlobEmbeddingSet, insertSiblingSet } from './test-helpers';
import { createRun } from './train-run';

const point = { trainRows: 10_000, dim: 384, fitSeconds: 10, predictRowsPerSec: 1_000 };
const measured = (m: Partial<MeasuredRun>): MeasuredRun => ({ kind: 'svc', trainRows: 1000, testRows: 100, dim: 16, fitSeconds: 1, predictRowsPerSec: 100, trainMetricRows: null, params: '{}', ...m });

describe('scaling a measured point to a set', () => {
  it('fit grows as rows^costExponent x dim; prediction as rows scored x dim (x rows for kinds that compare with the training rows)', () => {
    const size = { trainRows: 50_000, testRows: 10_000, dim: 3072 };
    // logreg (exponent 1, labels from its probabilities): fit 10 x 5 x 8 = 400 s; scored 10,000 test + 10,000 train-metric rows: 20 s x 8 = 160 s.
    expect(scaleFromPoint('logreg', point, size, 50_000)).toEqual({ fit: 400, predict: 160 });
    // svc (n^2, predicts against its support vectors; its vote reuses the probabilities' decision values):
    // fit 10 x 25 x 8 = 2,000 s; scored 20,000 rows: 20 s x 8 x 5 = 800 s.
    expect(scaleFromPoint('svc', point, size, 50_000)).toEqual({ fit: 2000, predict: 800 });
    // knn (fit n, predict against every training row, labels from its probabilities): 400 s; 20 s x 8 x 5 = 800 s.
    expect(scaleFromPoint('knn', point, size, 50_000)).toEqual({ fit: 400, predict: 800 });
    // mlp (does not declare labelsAreArgmaxProba: the test split is scored twice): the train-metric sample is
    // the 4,000 rows of a capped set, so 24,000 rows scored.
    expect(scaleFromPoint('mlp', point, { ...size, dim: 384 }, 4_000)).toEqual({ fit: 4, predict: 24 });
  });

  it('scales the fit by the params\' amount of work: epochs for kinds that train in epochs, the C grid\'s fits for logreg', () => {
    const size = { trainRows: 10_000, testRows: 0, dim: 384 };
    // mlp's default is 25 epochs: 100 epochs is 4x the fit of a point measured with the defaults.
    expect(scaleFromPoint('mlp', point, size, 10_000, { epochs: 100 }).fit).toBeCloseTo(40, 9);
    expect(scaleFromPoint('mlp', { ...point, params: JSON.stringify({ epochs: 50 }) }, size, 10_000, { epochs: 100 }).fit).toBeCloseTo(20, 9);
    // logreg: 13 C values + the refit by default; one C without the search is 1/14 of it.
    expect(scaleFromPoint('logreg', point, size, 10_000, { cGrid: [1] }).fit).toBeCloseTo(10 / 14, 9);
    // Params that do not validate count as the defaults.
    expect(scaleFromPoint('mlp', point, size, 10_000, { epochs: -3 }).fit).toBeCloseTo(10, 9);
  });

  it('scales from this machine\'s run nearest in size, else from the nearest committed reference point, and says which', () => {
    const target = { trainRows: 50_000, dim: 384 };
    const own = chooseBasis('svc', target, [measured({ trainRows: 200, dim: 16 }), measured({ trainRows: 40_000, dim: 384, fitSeconds: 77 })]);
    expect(own).toMatchObject({ reference: false, point: { trainRows: 40_000, fitSeconds: 77 } });
    expect(own!.basis).toMatch(/svc run on 40,000 x 384 on this machine/);
    for (const kind of CLASSIFIER_KINDS) {
      const ref = chooseBasis(kind, target, []);
      expect(ref, kind).toMatchObject({ reference: true });
      expect(ref!.basis).toMatch(new RegExp(`No finished ${kind} run on this machine yet: scaled from the reference rate measured by the scale bench`));
      // The nearest reference point of the kind: at 384 dims when the kind has one there.
      const dims = referencePoints(kind).map((p) => p.dim);
      if (dims.includes(384)) expect(ref!.point.dim, kind).toBe(384);
    }
  });

  it('past 30 minutes it warns with a row cap whose own estimate is within 30 minutes (fit and prediction both counted)', () => {
    const size = { trainRows: 50_000, testRows: 10_000, dim: 3072 };
    const runs = [measured({ trainRows: 10_000, dim: 3072, fitSeconds: 24, predictRowsPerSec: 880 })];
    const e = estimateForSize('svc', size, runs);
    // 24 x 25 = 600 s fit + 20,000 rows / 880 x 5 = 114 s.
    expect(e.fitSeconds).toBeCloseTo(600, 6);
    expect(e.predictSeconds).toBeCloseTo((20_000 / 880) * 5, 6);
    expect(e.estimate.warning).toBeNull();
    const slow = [measured({ trainRows: 10_000, dim: 3072, fitSeconds: 240, predictRowsPerSec: 880 })];
    const w = estimateForSize('svc', size, slow);
    expect(w.estimate.seconds!).toBeGreaterThan(LONG_RUN_SECONDS);
    expect(w.estimate.warning).toMatch(/About \d+ min on this machine: over 30 min\. Cap the rows \(--max-rows (\d+), about \d+ min\)/);
    const cap = Number(/--max-rows (\d+)/.exec(w.estimate.warning!)![1]);
    expect(w.estimate.suggestedMaxRows).toBe(cap);
    const capped = estimateForSize('svc', size, slow, cap).estimate;
    expect(capped.trainRows).toBe(cap);
    expect(capped.seconds!).toBeLessThanOrEqual(LONG_RUN_SECONDS);
    expect(capped.warning).toBeNull();
    // A round figure, not far under the largest row count that fits: 10 % more rows no longer fit.
    expect(String(cap)).toMatch(/^\d{1,2}0*$/);
    expect(estimateForSize('svc', size, slow, Math.ceil(cap * 1.1)).estimate.seconds!).toBeGreaterThan(LONG_RUN_SECONDS);
  });
});

describe('estimates on a database', () => {
  let dir: string;
  let db: Db;
  let setA: number;
  let setB: number;
  let datasetId: number;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-estimate-'));
    db = openDatabase(path.join(dir, 'lab.db'));
    const a = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 16, trainPerClass: 100, testPerClass: 20, seed: 4 });
    setA = a.setId;
    datasetId = a.datasetId;
    setB = insertSiblingSet(db, setA, { name: 'test-sibling' });
  });
  afterAll(() => {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a kind never run on this machine is estimated from the reference rates, said so; once run here, from that run', () => {
    const ref = estimateRun(db, setA, 'logreg');
    expect(ref).toMatchObject({ kind: 'logreg', trainRows: 300, reference: true, warning: null });
    expect(ref.seconds).toBeGreaterThan(0);
    expect(ref.basis).toMatch(/No finished logreg run on this machine yet/);
    const past = createRun(db, { setId: setA, kind: 'logreg', seed: 0 });
    db.prepare("UPDATE runs SET status = 'done', fit_seconds = 3, predict_rows_per_sec = 600 WHERE id = ?").run(past);
    const own = estimateRun(db, setA, 'logreg');
    // The same size: fit 3 s, 60 test rows + 300 train-metric rows at 600 rows/s.
    expect(own).toMatchObject({ reference: false, seconds: 3 + 360 / 600 });
    expect(own.basis).toMatch(/logreg run on 300 x 16 on this machine/);
    // A row cap scales it down: 150 rows, fit 1.5 s, 60 + 150 rows scored.
    expect(estimateRun(db, setA, 'logreg', 150).seconds).toBeCloseTo(1.5 + 210 / 600, 9);
    // A run trained on a row cap measured the capped rows: 100 rows in 3 s is 9 s for all 300.
    db.prepare('UPDATE runs SET max_train_rows = 100 WHERE id = ?').run(past);
    const fromCapped = estimateRun(db, setA, 'logreg');
    expect(fromCapped.basis).toMatch(/logreg run on 100 x 16 on this machine/);
    expect(fromCapped.seconds).toBeCloseTo(9 + 360 / 600, 9);
    db.prepare('DELETE FROM runs WHERE id = ?').run(past);
  });

  it('every kind on a set, and an experiment over two backbones, sum their runs\' estimates', () => {
    const kinds = ['logreg', 'knn', 'svc'] as const;
    const all = estimateSetRuns(db, setA, [...kinds]);
    expect(all.runs.map((r) => r.kind)).toEqual(kinds);
    const each = kinds.map((k) => estimateRun(db, setA, k).seconds!);
    expect(all.seconds).toBeCloseTo(each.reduce((a, x) => a + x, 0), 9);
    expect(all.unknownKinds).toEqual([]);
    expect(all.warning).toBeNull();

    const backbones = db.prepare('SELECT backbone_id AS id FROM embedding_sets WHERE id IN (?, ?) ORDER BY id').all(setA, setB) as { id: number }[];
    const exp = estimateExperiment(db, {
      datasetId,
      demo: false,
      backboneIds: backbones.map((b) => b.id),
      preset: 'resize-224',
      provider: 'auto',
      kinds: [...kinds],
      seed: 0,
    });
    // 2 backbones x 3 kinds, both sets embedded already (nothing to embed, no note).
    expect(exp.runs).toHaveLength(6);
    expect(exp.runs.map((r) => r.set)).toEqual(['test-raw', 'test-raw', 'test-raw', 'test-sibling', 'test-sibling', 'test-sibling']);
    expect(exp.notes).toEqual([]);
    const sum = exp.runs.reduce((a, r) => a + r.seconds!, 0);
    expect(exp.seconds).toBeCloseTo(sum, 9);
    // The sibling has the same size as set A: each backbone's runs sum to "every kind on set A".
    expect(sum).toBeCloseTo(2 * all.seconds!, 9);
    // A row cap applies to every run of it.
    const capped = estimateExperiment(db, { datasetId, demo: false, backboneIds: backbones.map((b) => b.id), preset: 'resize-224', provider: 'auto', kinds: [...kinds], seed: 0, maxRows: 30 });
    expect(capped.runs.every((r) => r.trainRows === 30)).toBe(true);
    expect(capped.seconds!).toBeLessThan(exp.seconds!);

    // A svc measured here as very slow (300 rows in an hour): the sum warns, naming it, with its cap.
    const slow = createRun(db, { setId: setA, kind: 'svc', seed: 0 });
    db.prepare("UPDATE runs SET status = 'done', fit_seconds = 3600, predict_rows_per_sec = 1000 WHERE id = ?").run(slow);
    const warned = estimateSetRuns(db, setA, [...kinds]);
    const svc = warned.runs.find((r) => r.kind === 'svc')!;
    expect(svc.suggestedMaxRows).toBeGreaterThan(1);
    expect(warned.warning).toBe(`svc on set ${setA} is estimated over 30 min: cap the rows (--max-rows ${svc.suggestedMaxRows}) to bring it down.`);
    db.prepare('DELETE FROM runs WHERE id = ?').run(slow);
  });

  it('an experiment that still has to embed says so: included at this machine\'s last rate with the backbone, else named', () => {
    const backboneId = (db.prepare('SELECT backbone_id AS id FROM embedding_sets WHERE id = ?').get(setA) as { id: number }).id;
    const p = { datasetId, demo: false, backboneIds: [backboneId], preset: 'dinov2-eval' as const, provider: 'auto' as const, kinds: ['knn' as const], seed: 0 };
    // No dinov2-eval set yet, nothing ever embedded with the backbone at a recorded rate: not included, said so.
    const none = estimateExperiment(db, p);
    expect(none.notes).toEqual([expect.stringMatching(/^Embedding 360 images with test-raw is not included/)]);
    db.prepare('UPDATE embedding_sets SET images_per_sec = 36 WHERE id = ?').run(setA);
    const some = estimateExperiment(db, p);
    expect(some.notes).toEqual([expect.stringMatching(/^Embedding 360 images with test-raw: about 10 s at this machine's last rate \(36\.0 images\/s\), included\./)]);
    expect(some.seconds).toBeCloseTo(none.seconds! + 10, 9);
  });
});

describe('the ETA of a running run', () => {
  it('blends the measured pace with the estimate by the fraction done; unknown when neither tells', () => {
    expect(blend(100, 10, 0, 10)).toBe(90); // nothing done: the estimate's rest
    expect(blend(100, 10, 5, 10)).toBe(0.5 * 10 + 0.5 * 90); // half done in 10 s: 10 s more measured, 90 by the estimate
    expect(blend(null, 10, 5, 10)).toBe(10);
    expect(blend(100, 150, 0, 10)).toBeNull(); // the estimate passed, no step done
    expect(blend(100, 10, 10, 10)).toBe(0);
  });

  it('follows a run through load, fit steps and evaluation, correcting the prediction estimate by the fit\'s measured speed', () => {
    let t = 0;
    const eta = new RunEta({ fit: 100, predict: 20 }, () => t);
    expect(eta.remaining('load', 0, 1)).toBe(120);
    t = 1;
    expect(eta.remaining('epoch', 0, 10)).toBe(120); // the fit starts: all of it left
    t = 51; // 5 of 10 epochs in 50 s: 50 s more measured, 50 s by the estimate, + 20 s of prediction
    expect(eta.remaining('epoch', 5, 10)).toBe(0.5 * 50 + 0.5 * 50 + 20);
    t = 201; // the fit took 200 s, twice its estimate: prediction is estimated at 40 s
    expect(eta.remaining('evaluate', 0, 2)).toBe(40);
    t = 221;
    expect(eta.remaining('evaluate', 1, 2)).toBe(0.5 * 20 + 0.5 * 20);
  });
});
