import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { openDatabase } from '../db/database';
import { classificationMetrics } from '../metrics/metrics';
import { Prng } from '../math/prng';
import { getRun } from './queries';
import { bootstrapInterval, buildStudy, metricFromConfusion, reproduceCommand, runProvenance, wilson } from './study';
import { insertBlobEmbeddingSet, insertSiblingSet, setRunSweep } from './test-helpers';
import { createRun, executeRun } from './train-run';
import pkg from '../../../package.json';

const t = tempDir();
afterAll(() => t.cleanup());

describe('study intervals and metrics', () => {
  it('Wilson intervals match hand-computed values', () => {
    // (p + z²/2n ± z·sqrt(p(1-p)/n + z²/4n²)) / (1 + z²/n), z = 1.959964, computed by hand in Python.
    const cases: [number, number, number, number][] = [
      [81, 100, 0.7222115462093562, 0.8748524849023126],
      [0, 20, 0, 0.16112515805281938],
      [20, 20, 0.8388748419471806, 1],
      [137, 200, 0.6176504391426966, 0.745376790097715],
    ];
    for (const [k, n, lo, hi] of cases) {
      const [a, b] = wilson(k, n);
      expect(a).toBeCloseTo(lo, 12);
      expect(b).toBeCloseTo(hi, 12);
    }
  });

  it('metrics from a confusion matrix equal the ones from labels, and the bootstrap interval holds the value', () => {
    const rng = new Prng(3);
    const C = 5;
    const y = Int32Array.from({ length: 300 }, () => rng.int(C));
    const p = Int32Array.from(y, (v) => (rng.next() < 0.7 ? v : rng.int(C)));
    const m = classificationMetrics(y, p, C);
    for (const k of ['accuracy', 'f1_weighted', 'f1_macro', 'precision_weighted', 'recall_weighted', 'precision_macro', 'recall_macro'] as const) {
      expect(metricFromConfusion(m.confusion, k)).toBeCloseTo(m[k], 12);
    }
    const [lo, hi] = bootstrapInterval(m.confusion, 'f1_weighted', 500, 1);
    expect(lo).toBeLessThan(m.f1_weighted);
    expect(hi).toBeGreaterThan(m.f1_weighted);
    // n = 300: the interval is a few points wide, not degenerate and not the whole range.
    expect(hi - lo).toBeGreaterThan(0.04);
    expect(hi - lo).toBeLessThan(0.2);
    expect(bootstrapInterval(m.confusion, 'f1_weighted', 500, 1)).toEqual([lo, hi]); // seeded: the same every time
  });

  it('the reproduce line quotes every parameter as --param parses it', () => {
    const cmd = reproduceCommand({ set_id: 3, kind: 'svc', params: { gamma: 'scale', C: 10, hidden: [256], note: "it's" }, seed: 2 });
    expect(cmd).toBe(`dinolab train --set 3 --model svc --param C=10 --param 'gamma="scale"' --param 'hidden=[256]' --param 'note="it'\\''s"' --seed 2`);
    // A run trained on a capped subsample is reproduced with the same cap (the subsample is seeded).
    expect(reproduceCommand({ set_id: 3, kind: 'knn', params: { k: 5 }, seed: 1, max_train_rows: 500 })).toBe('dinolab train --set 3 --model knn --param k=5 --max-rows 500 --seed 1');
  });
});

describe('buildStudy', () => {
  const db = openDatabase(path.join(t.dir, 'study.db'));
  afterAll(() => db.close());
  const { datasetId, setId: a } = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 8, trainPerClass: 40, testPerClass: 20, separation: 0.8, seed: 5, name: 'Blobs' });
  // A second "backbone" whose features are the first one's drowned in noise: a worse column.
  const b = insertSiblingSet(db, a, { name: 'noisy', noise: 3 });

  async function train(setId: number, kind: 'knn' | 'logreg' | 'mlp', params: Record<string, unknown> = {}, seed = 0): Promise<number> {
    const id = createRun(db, { setId, kind, params, seed });
    await executeRun(db, id);
    return id;
  }

  it('has one column per set, one row per kind, cells chosen by validation, leaky runs out of best marks, sweeps hidden', async () => {
    const knnA = await train(a, 'knn');
    const knnB = await train(b, 'knn');
    const lrA = await train(a, 'logreg');
    const mlp1 = await train(a, 'mlp', { epochs: 4 }, 1);
    const mlp2 = await train(a, 'mlp', { epochs: 4 }, 2);
    const leaky = await train(b, 'mlp', { epochs: 4, selectOn: 'test' }, 3);
    const swept = await train(b, 'logreg');
    setRunSweep(db, swept, 1);

    const st = buildStudy(db, datasetId);
    expect(st.columns.map((c) => c.set_id)).toEqual([a, b]);
    expect(st.columns.map((c) => c.backbone)).toEqual(['test-raw', 'noisy']);
    expect(st.rows.map((r) => r.kind)).toEqual(['mlp', 'logreg', 'knn']);
    expect(st.hidden_sweep_runs).toBe(1);
    expect(st.runs.map((r) => r.id)).not.toContain(swept);
    const cell = (kind: string, col: number) => st.rows.find((r) => r.kind === kind)!.cells[col] ?? null;

    // Two mlp runs on set a: the one with the higher validation accuracy, whatever its test accuracy.
    const vals = [mlp1, mlp2].map((id) => st.runs.find((r) => r.id === id)!.metrics.validation!.accuracy);
    const m = cell('mlp', 0)!;
    expect(m.count).toBe(2);
    expect(m.run_ids).toEqual([mlp2, mlp1]);
    expect(m.chosen_by).toBe('validation');
    expect(m.run_id).toBe(vals[0]! > vals[1]! ? mlp1 : mlp2);

    // knn has no validation score: the newest run, said so.
    expect(cell('knn', 0)).toMatchObject({ run_id: knnA, chosen_by: 'newest', count: 1 });
    // The value is the run's test accuracy, with its Wilson interval over the 60 test rows.
    const knnTest = getRun(db, knnA).metrics.test!;
    expect(cell('knn', 0)!.value).toBe(knnTest.accuracy);
    const [lo, hi] = wilson(Math.round(knnTest.accuracy * 60), 60);
    expect(cell('knn', 0)!.lo).toBeCloseTo(lo, 12);
    expect(cell('knn', 0)!.hi).toBeCloseTo(hi, 12);
    expect(cell('knn', 0)!.interval).toBe('wilson');

    // The leaky mlp on set b is shown, marked, and never "best".
    const l = cell('mlp', 1)!;
    expect(l).toMatchObject({ run_id: leaky, selected_on_test: true, best_in_row: false, best_in_column: false });
    expect(st.runs.find((r) => r.id === leaky)!.metrics.validation).toBeNull();
    // logreg on b only has the sweep run, which is hidden: no cell.
    expect(cell('logreg', 1)).toBeNull();
    expect(cell('logreg', 0)!.run_id).toBe(lrA);
    // Best per column / row: the largest value among the eligible cells.
    for (let j = 0; j < 2; j++) {
      const col = st.rows.map((r) => r.cells[j]).filter((c) => c && !c.selected_on_test);
      const max = Math.max(...col.map((c) => c!.value));
      for (const c of col) expect(c!.best_in_column).toBe(c!.value === max);
    }
    expect(cell('knn', 0)!.best_in_row).toBe(cell('knn', 0)!.value >= cell('knn', 1)!.value);
    expect(cell('knn', 1)!.run_id).toBe(knnB);

    // Other metrics: the bootstrap interval around the chosen run's value.
    const f1 = buildStudy(db, datasetId, { metric: 'f1_macro' });
    const c = f1.rows.find((r) => r.kind === 'knn')!.cells[0]!;
    expect(c.value).toBeCloseTo(knnTest.f1_macro, 12);
    expect(c.interval).toBe('bootstrap');
    expect(c.lo).toBeLessThanOrEqual(c.value);
    expect(c.hi).toBeGreaterThanOrEqual(c.value);

    // With sweeps included, the swept logreg fills its cell.
    expect(buildStudy(db, datasetId, { includeSweeps: true }).rows.find((r) => r.kind === 'logreg')!.cells[1]!.run_id).toBe(swept);
  });

  it('records provenance when training begins: dataset, backbone, set, params with defaults, backend, app version, times', async () => {
    const id = await train(b, 'knn', { k: 3 });
    const r = getRun(db, id);
    const p = runProvenance(db, r);
    expect(p).toMatchObject({
      dataset: { id: datasetId, name: 'Blobs', fingerprint: 'fp-Blobs' },
      backbone: { name: 'noisy', sha256: null },
      embedding_set: { id: b, preset: 'resize-224' },
      kind: 'knn',
      seed: 0,
      backend: r.backend,
      app_version: pkg.version,
      snapshot: true,
      selected_on_test: false,
      sweep_id: null,
    });
    expect(p.params).toEqual(r.params);
    expect(Object.keys(p.params).length).toBeGreaterThan(1); // defaults filled in, not just k
    expect(p.params.k).toBe(3);
    expect(p.backend).toBeTruthy();
    expect(Date.parse(p.started_at!)).toBeLessThanOrEqual(Date.parse(p.finished_at!));
    expect(p.duration_seconds).toBeGreaterThanOrEqual(0);
    expect(p.command).toBe(reproduceCommand(r));
  });
});

describe('the study through the contract', () => {
  it('runs.get, runs.update, export-run and misclassified across sets carry names, notes and provenance', async () => {
    const { Lab } = await import('../lab');
    const fs = await import('node:fs');
    const lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
    try {
      const { datasetId, setId: a } = insertBlobEmbeddingSet(lab.db, { numClasses: 3, dim: 8, trainPerClass: 30, testPerClass: 10, separation: 0.6, seed: 9, name: 'Lab blobs' });
      const b = insertSiblingSet(lab.db, a, { name: 'noisy-b', noise: 2 });
      const ra = createRun(lab.db, { setId: a, kind: 'knn', seed: 0 });
      await executeRun(lab.db, ra);
      const rb = createRun(lab.db, { setId: b, kind: 'knn', seed: 0 });
      await executeRun(lab.db, rb);

      await expect(lab.call('runs.update', { id: ra, name: 'k-NN on raw', notes: 'first try' })).resolves.toMatchObject({ name: 'k-NN on raw', notes: 'first try' });
      await expect(lab.call('runs.update', { id: 999, name: 'x' })).rejects.toMatchObject({ code: 'not_found' });
      const got = await lab.call('runs.get', { id: ra });
      expect(got.provenance).toMatchObject({ dataset: { name: 'Lab blobs' }, kind: 'knn', snapshot: true, app_version: pkg.version });

      const out = path.join(t.dir, 'export');
      const r = await lab.call('runs.export', { id: ra, outDir: out });
      const json = JSON.parse(fs.readFileSync(r.metricsFile, 'utf8'));
      expect(json.run).toMatchObject({ id: ra, name: 'k-NN on raw', notes: 'first try' });
      expect(json.provenance).toMatchObject({ dataset: { id: datasetId, fingerprint: 'fp-Lab blobs' }, backbone: { name: 'test-raw' }, embedding_set: { id: a }, seed: 0 });
      expect(json.provenance.command).toBe(got.provenance.command);
      expect(json.provenance.backend).toBe(got.backend);

      // Two runs on two sets of the same dataset share its test images (a page past the end: these samples have no pixels to thumbnail).
      const mis = await lab.call('runs.misclassified', { setId: a, runIds: [ra, rb], offset: 10_000, limit: 50 });
      const one = await lab.call('runs.misclassified', { setId: a, runIds: [ra], offset: 10_000, limit: 50 });
      expect(mis.total).toBeGreaterThanOrEqual(one.total);
      expect(one.total).toBeGreaterThan(0);
      // A run on another dataset is still refused.
      const other = insertBlobEmbeddingSet(lab.db, { numClasses: 3, dim: 8, trainPerClass: 5, testPerClass: 2, seed: 2, name: 'Other' });
      const ro = createRun(lab.db, { setId: other.setId, kind: 'knn', params: { k: 3 }, seed: 0 });
      await executeRun(lab.db, ro);
      await expect(lab.call('runs.misclassified', { setId: a, runIds: [ra, ro] })).rejects.toMatchObject({ code: 'invalid_input' });

      const st = await lab.call('runs.study', { datasetId });
      expect(st.runs.find((x) => x.id === ra)).toMatchObject({ name: 'k-NN on raw', notes: 'first try' });
      await expect(lab.call('runs.study', { datasetId: 9999 })).rejects.toMatchObject({ code: 'not_found' });
    } finally {
      await lab.close();
    }
  });
});
