/**
 * SVC benchmark: DINO Lab's RBF SVC against scikit-learn's SVC() on a seeded Gaussian mixture.
 * Default 50,000 x 384 training rows, 10 classes, 10,000 test rows (scikit-learn may take many minutes);
 * BENCH_QUICK=1 uses 5,000 / 1,000 rows; BENCH_SVC_ROWS=N sets the training rows (test rows N / 5). BENCH_SVC_PROBA=1 also times probability=true (always in quick mode).
 * scikit-learn runs in a python3 subprocess on .npy files written to a temp dir; it is skipped (with a
 * note) when no python3 with scikit-learn is found. Run: npx tsx bench/svc.ts
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeNpy } from '../src/core/embeddings/npy';
import { SVC } from '../src/core/classifiers/svc/svc';
import type { Matrix } from '../src/core/math/matrix';

interface Row extends Record<string, string | number> {
  impl: string;
  fit_s: number;
  predict_s: number;
  test_accuracy: number;
  n_sv: number;
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
import sys, json, time, numpy as np
from sklearn.svm import SVC
d = sys.argv[1]
Xtr = np.load(d + '/xtr.npy'); ytr = np.load(d + '/ytr.npy'); Xte = np.load(d + '/xte.npy'); yte = np.load(d + '/yte.npy')
m = SVC()
t = time.perf_counter(); m.fit(Xtr, ytr); fit = time.perf_counter() - t
t = time.perf_counter(); p = m.predict(Xte); pred = time.perf_counter() - t
import sklearn
print(json.dumps({'fit_s': fit, 'predict_s': pred, 'acc': float((p == yte).mean()), 'n_sv': int(m.n_support_.sum()), 'version': sklearn.__version__}))
`;

function findPython(): string | null {
  for (const py of [process.env.PYTHON, 'python3', '/usr/bin/python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import sklearn, numpy'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

async function ours(train: { X: Matrix; y: Int32Array }, test: { X: Matrix; y: Int32Array }, probability: boolean): Promise<Row> {
  const svc = new SVC({ C: 1, gamma: 'scale', tol: 1e-3, cacheMb: 512, shrinking: true, probability, maxIter: -1 }, { numClasses: 10, seed: 0 });
  let t = performance.now();
  await svc.fit(train.X, train.y);
  const fit = (performance.now() - t) / 1000;
  t = performance.now();
  const p = await svc.predict(test.X);
  const pred = (performance.now() - t) / 1000;
  let ok = 0;
  for (let i = 0; i < p.length; i++) if (p[i] === test.y[i]) ok++;
  return {
    impl: `dinolab SVC (probability=${probability})`,
    fit_s: +fit.toFixed(2),
    predict_s: +pred.toFixed(2),
    test_accuracy: +(ok / p.length).toFixed(4),
    n_sv: svc.nSupport.reduce((a, b) => a + b, 0),
  };
}

/** Runs the benchmark; rows for the table, json for bench/results. */
export async function run(): Promise<{ rows: Record<string, string | number>[]; json: unknown }> {
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
  const train = mixture(nTrain, d, classes, 1, means);
  const test = mixture(nTest, d, classes, 2, means);
  const rows: Row[] = [];
  rows.push(await ours(train, test, false));
  if (quick || process.env.BENCH_SVC_PROBA === '1') rows.push(await ours(train, test, true));

  const notes: string[] = [];
  const py = findPython();
  let sk: { fit_s: number; predict_s: number; acc: number; n_sv: number; version: string } | null = null;
  if (py) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-svc-'));
    try {
      npy(path.join(dir, 'xtr.npy'), train.X.data, [nTrain, d]);
      npy(path.join(dir, 'ytr.npy'), train.y, [nTrain]);
      npy(path.join(dir, 'xte.npy'), test.X.data, [nTest, d]);
      npy(path.join(dir, 'yte.npy'), test.y, [nTest]);
      const r = spawnSync(py, ['-c', PY, dir], { encoding: 'utf8', maxBuffer: 1 << 20 });
      if (r.status === 0) sk = JSON.parse(r.stdout.trim().split('\n').pop()!);
      else notes.push(`scikit-learn run failed: ${r.stderr.slice(-500)}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else notes.push('No python3 with scikit-learn found: install python3-sklearn to compare.');
  if (sk) {
    rows.push({
      impl: `scikit-learn ${sk.version} SVC()`,
      fit_s: +sk.fit_s.toFixed(2),
      predict_s: +sk.predict_s.toFixed(2),
      test_accuracy: +sk.acc.toFixed(4),
      n_sv: sk.n_sv,
    });
  }
  const base = rows[0]!;
  const withProba = rows.find((r) => r.impl.includes('probability=true'));
  const ratios = sk
    ? {
        // Like for like: scikit-learn's SVC() defaults to probability=False.
        fit_speedup_vs_sklearn: +(sk.fit_s / base.fit_s).toFixed(2),
        ...(withProba ? { fit_speedup_vs_sklearn_ours_with_probability: +(sk.fit_s / withProba.fit_s).toFixed(2) } : {}),
        predict_speedup_vs_sklearn: +(sk.predict_s / base.predict_s).toFixed(2),
        accuracy_diff_points: +((base.test_accuracy - sk.acc) * 100).toFixed(2),
      }
    : null;
  return {
    rows,
    json: { config: { nTrain, nTest, dim: d, classes, quick, cpus: os.cpus().length, cpu: os.cpus()[0]?.model }, rows, ratios, notes },
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const r = await run();
  console.table(r.rows);
  console.log(JSON.stringify(r.json, null, 2));
}
