/**
 * Label sweep and OOD benchmark speed (not a CI gate). Synthetic data: a seeded 10-class Gaussian mixture,
 * 50,000 x 384 train / 10,000 test (insertBlobEmbeddingSet, separation 0.15), in a real SQLite file.
 * - sweep: 7 fractions (0.01 .. 1) x 3 repeats x {logreg, knn, mlp} with default params, through runSweep
 *   (the sweep job's code, in this process); target under 10 minutes on the 2-core machine.
 * - ood: the set's 10,000 test vectors (in) vs 10,000 test vectors of another mixture (out), 50,000 training
 *   rows: k-NN k=1 and k=10, Mahalanobis, and the MSP and energy of one logreg run; target under 30 s.
 * - mahalanobis alone: the scorer on 50,000 random training rows and 20,000 queries at 384-d and 3,072-d
 *   (covariance product, factorisation + whitening, scoring).
 * BENCH_QUICK=1: 5,000 / 1,000 rows.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../src/core/db/database';
import { initTf } from '../src/core/classifiers/tf-backend';
import { linalgEngine } from '../src/core/math/ort-linalg';
import { mahalanobisScorer, runOodBenchmark } from '../src/core/ood/benchmark';
import { mulberry32 } from '../src/core/math/prng';
import { getRun } from '../src/core/runs/queries';
import { insertBlobEmbeddingSet } from '../src/core/runs/test-helpers';
import { insertSweep } from '../src/core/sweeps/queries';
import { runSweep, sweepInfo } from '../src/core/sweeps/sweep';
import type { BenchResult } from './run';

export async function run(): Promise<BenchResult> {
  const quick = process.env.BENCH_QUICK === '1';
  const perClass = quick ? 500 : 5000;
  const testPerClass = quick ? 100 : 1000;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-sweep-'));
  const db = openDatabase(path.join(dir, 'lab.db'));
  const { backend } = await initTf();
  try {
    const t0 = performance.now();
    const { setId } = insertBlobEmbeddingSet(db, { numClasses: 10, dim: 384, trainPerClass: perClass, testPerClass, separation: 0.15, seed: 1, name: 'mixture-in' });
    const { setId: oodSetId } = insertBlobEmbeddingSet(db, { numClasses: 10, dim: 384, trainPerClass: 0, testPerClass, separation: 0.15, seed: 2, name: 'mixture-out' });
    const insertSeconds = (performance.now() - t0) / 1000;
    const sweepId = insertSweep(db, { setId, kinds: ['logreg', 'knn', 'mlp'], sizes: { mode: 'fraction', values: [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1] }, repeats: 3, seed: 0 });
    const perRun: { kind: string; size: number; repeat: number; seconds: number }[] = [];
    let last = performance.now();
    let lastPhase = '';
    const t1 = performance.now();
    const r = await runSweep(db, sweepId, {
      onProgress: (done, _total, phase) => {
        const now = performance.now();
        if (lastPhase) {
          const m = /run \d+\/\d+: (\w+), size ([\d.]+), repeat (\d+)/.exec(lastPhase);
          if (m) perRun.push({ kind: m[1]!, size: Number(m[2]), repeat: Number(m[3]), seconds: (now - last) / 1000 });
        }
        last = now;
        lastPhase = phase;
        if (done % 7 === 0) console.error(`  sweep ${done} runs, ${((now - t1) / 1000).toFixed(0)} s`);
      },
    });
    const sweepSeconds = (performance.now() - t1) / 1000;
    const info = sweepInfo(db, sweepId);
    const logregFull = info.runs.find((x) => x.kind === 'logreg' && x.sizeIndex === 6 && x.repeat === 0)!.runId;
    const t2 = performance.now();
    const ood = await runOodBenchmark(db, { setId, oodSetId, runIds: [logregFull] });
    const oodSeconds = (performance.now() - t2) / 1000;
    // The Mahalanobis scorer alone at 384-d and 3,072-d (in memory): 50,000 training rows, 20,000 queries.
    const maha: Record<string, number | string>[] = [];
    for (const D of [384, 3072]) {
      const n = quick ? 5000 : 50_000;
      const q = quick ? 2000 : 20_000;
      const rnd = mulberry32(D);
      const X = Float32Array.from({ length: n * D }, () => rnd());
      const yy = Int32Array.from({ length: n }, (_, i) => i % 10);
      const Q = Float32Array.from({ length: q * D }, () => rnd());
      const m0 = performance.now();
      const sc = await mahalanobisScorer({ rows: n, cols: D, data: X }, yy);
      const m1 = performance.now();
      await sc.score({ rows: q, cols: D, data: Q });
      const m2 = performance.now();
      maha.push({ dim: D, trainRows: n, queries: q, covariance: sc.seconds.covariance, factor: sc.seconds.factor, score: (m2 - m1) / 1000, total: (m2 - m0) / 1000 });
    }
    const byKind = (k: string): number => perRun.filter((p) => p.kind === k).reduce((a, p) => a + p.seconds, 0);
    // The engine each kind's runs really trained on (as the runs recorded it), and the OOD scorers' engine.
    const engineOf = (k: string): string => [...new Set(info.runs.filter((x) => x.kind === k).map((x) => getRun(db, x.runId).backend ?? '?'))].join('/');
    const sweepEngines = ['logreg', 'knn', 'mlp'].map((k) => `${k}: ${engineOf(k)}`).join(', ');
    const oodEngine = await linalgEngine();
    const rows: Record<string, string | number>[] = [
      { what: `sweep 7 sizes x 3 repeats x {logreg, knn, mlp}, ${perClass * 10} x 384 train, ${testPerClass * 10} test`, seconds: Number(sweepSeconds.toFixed(1)), target: 600, runs: r.trained, backend: sweepEngines },
      ...['logreg', 'knn', 'mlp'].map((k) => ({ what: `  of which ${k} (21 runs)`, seconds: Number(byKind(k).toFixed(1)), target: '', runs: 21, backend: engineOf(k) })),
      { what: `ood ${testPerClass * 10} in + ${testPerClass * 10} out, ${perClass * 10} train rows, ${ood.scores.length} scores`, seconds: Number(oodSeconds.toFixed(1)), target: 30, runs: 0, backend: oodEngine },
      ...Object.entries(ood.phases).map(([k, v]) => ({ what: `  of which ${k}`, seconds: Number(v.toFixed(1)), target: '', runs: 0, backend: oodEngine })),
      ...maha.map((m) => ({
        what: `mahalanobis alone ${m.trainRows} x ${m.dim} train, ${m.queries} queries (cov ${Number(m.covariance).toFixed(1)} s, factor ${Number(m.factor).toFixed(1)} s, score ${Number(m.score).toFixed(1)} s)`,
        seconds: Number(Number(m.total).toFixed(1)),
        target: '',
        runs: 0,
        backend: oodEngine,
      })),
    ];
    return {
      rows,
      json: {
        data: 'synthetic: seeded 10-class Gaussian mixtures (not image features)',
        quick,
        threads: { tfjsBackend: backend, cpus: os.availableParallelism() },
        insertSeconds,
        sweepSeconds,
        oodSeconds,
        perRun,
        points: info.points.map((p) => ({ kind: p.kind, fraction: p.size, perClass: p.perClass, accuracy: p.accuracy, f1_weighted: p.f1_weighted })),
        ood: ood.scores.map((s) => ({ name: s.name, ...s.metrics })),
        oodPhases: ood.phases,
        mahalanobis: maha,
        loadAverage: os.loadavg(),
        peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
      },
    };
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
