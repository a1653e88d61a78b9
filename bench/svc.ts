/**
 * SVC benchmark: DINO Lab's RBF SVC against scikit-learn's SVC() on a seeded, synthetic Gaussian mixture
 * (not image features). Default 50,000 x 384 training rows, 10 classes, 10,000 test rows (scikit-learn
 * may take many minutes); BENCH_QUICK=1 uses 5,000 / 1,000 rows; BENCH_SVC_ROWS=N sets the training rows
 * (test rows N / 5). Like with like: every row is probability=false (scikit-learn's default), at
 * libsvm's cache size (200 MB) and at ours (512 MB), for both; BENCH_SVC_PROBA=1 adds ours with
 * probability=true (always in quick mode). Each row runs alone in its own process, so its peak RSS is
 * its own; the rows record the threads and the engines that really ran.
 * scikit-learn runs in a python3 subprocess on .npy files written to a temp dir; it is skipped (with a
 * note) when no python3 with scikit-learn is found. Run: npx tsx bench/svc.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeNpy } from '../src/core/embeddings/npy';
import { SVC, SVC_TUNING } from '../src/core/classifiers/svc/svc';
import type { Matrix } from '../src/core/math/matrix';

interface Row extends Record<string, string | number> {
  impl: string;
  cache_mb: number;
  probability: string;
  fit_s: number;
  predict_s: number;
  test_accuracy: number;
  n_sv: number;
  /** Threads the fit may use, as really configured (solver threads, onnxruntime intra-op, libsvm). */
  threads: string;
  /** What really ran: our solver and kernel engines, or libsvm. */
  backend: string;
  /** Peak resident memory of the process that ran this row alone (data generation/loading included). */
  peak_rss_mb: number;
}

/** Seeded Gaussian mixture: class means N(0, s^2 I) plus two sub-cluster offsets per class, unit noise. */
function mixture(n: number, d: number, classes: number, seed: number, means: Float32Array): { X: Matrix; y: Int32Array } {
  const rnd = gaussian(seed);
  const X = new Float32Array(n * d);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    const sub = (i / classes) & 1;
    y[i] = c;
    const mo = (c * 2 + sub) * d;
    for (let t = 0; t < d; t++) X[i * d + t] = means[mo + t]! + rnd();
  }
  return { X: { rows: n, cols: d, data: X }, y };
}

function gaussian(seed: number): () => number {
  let a = seed >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
}

/** Writes a float32 or int32 array as .npy through the project's writer. */
function npy(file: string, a: Float32Array | Int32Array, shape: number[]): void {
  fs.writeFileSync(file, writeNpy(a instanceof Float32Array ? '<f4' : '<i4', shape, a));
}

const PY = `
import sys, json, time, resource, numpy as np
from sklearn.svm import SVC
d = sys.argv[1]; cache = float(sys.argv[2])
Xtr = np.load(d + '/xtr.npy'); ytr = np.load(d + '/ytr.npy'); Xte = np.load(d + '/xte.npy'); yte = np.load(d + '/yte.npy')
m = SVC(cache_size=cache)
t = time.perf_counter(); m.fit(Xtr, ytr); fit = time.perf_counter() - t
t = time.perf_counter(); p = m.predict(Xte); pred = time.perf_counter() - t
import sklearn
print(json.dumps({'fit_s': fit, 'predict_s': pred, 'acc': float((p == yte).mean()), 'n_sv': int(m.n_support_.sum()), 'version': sklearn.__version__,
  'peak_rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
`;

function findPython(): string | null {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import sklearn, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

function problem(): { nTrain: number; nTest: number; d: number; classes: number; train: { X: Matrix; y: Int32Array }; test: { X: Matrix; y: Int32Array } } {
  const quick = process.env.BENCH_QUICK === '1';
  const nTrain = Number(process.env.BENCH_SVC_ROWS ?? (quick ? 5000 : 50_000));
  const nTest = Math.max(1000, Math.round(nTrain / 5));
  const d = 384;
  const classes = 10;
  // Two sub-cluster means per class; the spread is chosen so that SVC() lands near 95 % test accuracy.
  const g = gaussian(42);
  const means = new Float32Array(classes * 2 * d);
  for (let i = 0; i < means.length; i++) means[i] = 0.17 * g();
  for (let c = 0; c < classes; c++) {
    for (let t = 0; t < d; t++) means[(c * 2 + 1) * d + t] = means[c * 2 * d + t]! + 0.5 * (means[(c * 2 + 1) * d + t]! );
  }
  return { nTrain, nTest, d, classes, train: mixture(nTrain, d, classes, 1, means), test: mixture(nTest, d, classes, 2, means) };
}

/** One of our rows, in this process (called in a child: see CHILD below). */
async function ours(cacheMb: number, probability: boolean): Promise<Row> {
  const { train, test } = problem();
  const svc = new SVC({ C: 1, gamma: 'scale', tol: 1e-3, cacheMb, shrinking: true, probability, maxIter: -1 }, { numClasses: 10, seed: 0 });
  let t = performance.now();
  await svc.fit(train.X, train.y);
  const fit = (performance.now() - t) / 1000;
  t = performance.now();
  const p = await svc.predict(test.X);
  const pred = (performance.now() - t) / 1000;
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === test.y[i]) ok++;
  return {
    impl: 'dinolab SVC',
    cache_mb: cacheMb,
    probability: String(probability),
    fit_s: +fit.toFixed(2),
    predict_s: +pred.toFixed(2),
    test_accuracy: +(ok / p.length).toFixed(4),
    n_sv: svc.nSupport.reduce((a, b) => a + b, 0),
    threads: `SVC_TUNING.threads=${SVC_TUNING.threads}; solver: ${svc.backend}`,
    backend: `solver ${svc.backend}; kernel: ${svc.kernelBackend}; predict kernel: onnxruntime cpu (default intra-op threads) when loadable`,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
  };
}

/** Runs ours(cacheMb, probability) in a fresh process, so that its peak RSS and threads are its own. */
function oursInChild(cacheMb: number, probability: boolean): Row {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD, String(cacheMb), String(probability)], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`bench svc child (cache ${cacheMb} MB, probability ${probability}) failed with status ${r.status}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Row;
}

const CHILD = '--svc-bench-child';

/** Runs the benchmark; rows for the table, json for bench/results. */
export async function run(): Promise<{ rows: Record<string, string | number>[]; json: unknown }> {
  const quick = process.env.BENCH_QUICK === '1';
  const { nTrain, nTest, d, classes, train, test } = problem();
  const caches = [200, 512];
  const rows: Row[] = [];
  for (const cache of caches) {
    console.error(`[bench svc] dinolab SVC, cache ${cache} MB, probability=false ...`);
    rows.push(oursInChild(cache, false));
    console.error(`[bench svc]   fit ${rows.at(-1)!.fit_s} s, ${rows.at(-1)!.backend}`);
  }
  if (quick || process.env.BENCH_SVC_PROBA === '1') rows.push(oursInChild(512, true));

  const notes: string[] = ['Data: synthetic seeded Gaussian mixture (10 classes x 2 sub-clusters, 384 dims), not image features.'];
  const py = findPython();
  type Sk = { fit_s: number; predict_s: number; acc: number; n_sv: number; version: string; peak_rss_mb: number };
  const sk = new Map<number, Sk>();
  if (py) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-svc-'));
    try {
      npy(path.join(dir, 'xtr.npy'), train.X.data, [nTrain, d]);
      npy(path.join(dir, 'ytr.npy'), train.y, [nTrain]);
      npy(path.join(dir, 'xte.npy'), test.X.data, [nTest, d]);
      npy(path.join(dir, 'yte.npy'), test.y, [nTest]);
      for (const cache of caches) {
        console.error(`[bench svc] scikit-learn SVC(cache_size=${cache}) ...`);
        const r = spawnSync(py, ['-c', PY, dir, String(cache)], { encoding: 'utf8', maxBuffer: 1 << 20 });
        if (r.status === 0) sk.set(cache, JSON.parse(r.stdout.trim().split('\n').pop()!) as Sk);
        else notes.push(`scikit-learn run (cache ${cache}) failed: ${r.stderr.slice(-500)}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else notes.push('No python3 with scikit-learn found: install python3-sklearn to compare.');
  for (const [cache, s] of sk) {
    rows.push({
      impl: `scikit-learn ${s.version} SVC()`,
      cache_mb: cache,
      probability: 'false',
      fit_s: +s.fit_s.toFixed(2),
      predict_s: +s.predict_s.toFixed(2),
      test_accuracy: +s.acc.toFixed(4),
      n_sv: s.n_sv,
      threads: '1 (libsvm is single-threaded)',
      backend: 'libsvm (scikit-learn), kernel rows on demand through its cache',
      peak_rss_mb: Math.round(s.peak_rss_mb),
    });
  }
  // Like for like: same cache size, probability=false on both sides.
  const ratios: Record<string, number> = {};
  for (const cache of caches) {
    const o = rows.find((r) => r.impl === 'dinolab SVC' && r.cache_mb === cache && r.probability === 'false');
    const s = sk.get(cache);
    if (o && s) {
      ratios[`fit_speedup_vs_sklearn_cache${cache}`] = +(s.fit_s / o.fit_s).toFixed(2);
      ratios[`predict_speedup_vs_sklearn_cache${cache}`] = +(s.predict_s / o.predict_s).toFixed(2);
      ratios[`accuracy_diff_points_cache${cache}`] = +((o.test_accuracy - s.acc) * 100).toFixed(2);
    }
  }
  return {
    rows,
    json: {
      config: { nTrain, nTest, dim: d, classes, quick, synthetic: true, cpus: os.cpus().length, availableParallelism: os.availableParallelism(), cpu: os.cpus()[0]?.model },
      noise: 'Shared machine: times are comparable only as ratios within this run.',
      rows,
      ratios,
      notes,
    },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href && process.argv[2] === CHILD) {
  console.log(JSON.stringify(await ours(Number(process.argv[3]), process.argv[4] === 'true')));
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await run();
  console.table(r.rows);
  console.log(JSON.stringify(r.json, null, 2));
}
