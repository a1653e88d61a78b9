/**
 * Classifier benchmark: every kind on a seeded 10-class Gaussian mixture (50,000 x 384 train, 10,000 test;
 * BENCH_QUICK=1 shrinks both 10x), and, when python3 has scikit-learn (and torch), scikit-learn's SVC() and
 * LogisticRegression and a PyTorch loop of the mlp recipe on the same data. Prints ratios.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeNpy } from '../src/core/embeddings/npy';
import { CLASSIFIER_KINDS, type ClassifierKind } from '../src/shared/contract';
import { Prng } from '../src/core/math/prng';
import { createClassifier } from '../src/core/classifiers/registry';
import { initTf } from '../src/core/classifiers/tf-backend';
import type { Matrix } from '../src/core/math/matrix';
import { accuracy } from '../src/core/metrics/metrics';

const D = 384;
const C = 10;
/** Class means ~ N(0, SEP^2) per dimension with unit noise: pairwise mean distance SEP*sqrt(2D) ~ 5 sd, ~95 % reachable. */
const SEP = 0.19;

function mixture(nTrain: number, nTest: number, seed: number): { X: Matrix; y: Int32Array; Xt: Matrix; yt: Int32Array } {
  const rng = new Prng(seed);
  const mu = new Float32Array(C * D);
  for (let i = 0; i < mu.length; i++) mu[i] = rng.normal() * SEP;
  const make = (n: number): { X: Matrix; y: Int32Array } => {
    const X = new Float32Array(n * D);
    const y = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = rng.int(C);
      y[i] = c;
      for (let j = 0; j < D; j++) X[i * D + j] = mu[c * D + j]! + rng.normal();
    }
    return { X: { rows: n, cols: D, data: X }, y };
  };
  const tr = make(nTrain);
  const te = make(nTest);
  return { X: tr.X, y: tr.y, Xt: te.X, yt: te.y };
}

/** Writes a float32 or int32 array as .npy through the project's writer. */
function writeNpyFile(file: string, a: Float32Array | Int32Array, shape: number[]): void {
  fs.writeFileSync(file, writeNpy(a instanceof Float32Array ? '<f4' : '<i4', shape, a));
}

const PY = String.raw`
import json, sys, time
import numpy as np
d = sys.argv[1]
X = np.load(d + '/X.npy'); y = np.load(d + '/y.npy'); Xt = np.load(d + '/Xt.npy'); yt = np.load(d + '/yt.npy')
out = {}
kinds = sys.argv[3].split(',')
from sklearn.svm import SVC
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
if 'svc' in kinds:
    t = time.perf_counter(); m = SVC().fit(X, y); fit = time.perf_counter() - t
    t = time.perf_counter(); p = m.predict(Xt); pr = time.perf_counter() - t
    out['sklearn_svc'] = {'fit_s': fit, 'predict_s': pr, 'test_acc': float((p == yt).mean()), 'n_support': int(m.n_support_.sum())}
if 'logreg' in kinds:
    s = StandardScaler().fit(X); Xs = s.transform(X); Xts = s.transform(Xt)
    t = time.perf_counter(); m = LogisticRegression(C=float(sys.argv[2]), max_iter=1000).fit(Xs, y); fit = time.perf_counter() - t
    t = time.perf_counter(); p = m.predict(Xts); pr = time.perf_counter() - t
    out['sklearn_logreg'] = {'fit_s': fit, 'predict_s': pr, 'test_acc': float((p == yt).mean())}
try:
    if 'mlp' not in kinds: raise ImportError('mlp not requested')
    import torch, torch.nn as nn
    torch.manual_seed(0)
    Xtr = torch.from_numpy(X); ytr = torch.from_numpy(y.astype(np.int64))
    n = len(Xtr); nv = n // 10; perm = torch.randperm(n); vi, ti = perm[:nv], perm[nv:]
    model = nn.Sequential(nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3); lossf = nn.CrossEntropyLoss()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xtr[ti], ytr[ti]), batch_size=64, shuffle=True)
    best = -1; t = time.perf_counter()
    for ep in range(25):
        model.train()
        for xb, yb in loader:
            opt.zero_grad(); l = lossf(model(xb), yb); l.backward(); opt.step()
        model.eval()
        with torch.no_grad():
            a = (model(Xtr[vi]).argmax(1) == ytr[vi]).float().mean().item()
        if a > best: best = a; state = {k: v.clone() for k, v in model.state_dict().items()}
    fit = time.perf_counter() - t
    model.load_state_dict(state)
    t = time.perf_counter()
    with torch.no_grad(): p = model(torch.from_numpy(Xt)).argmax(1).numpy()
    out['torch_mlp'] = {'fit_s': fit, 'predict_s': time.perf_counter() - t, 'test_acc': float((p == yt).mean()), 'threads': torch.get_num_threads()}
except ImportError:
    pass
print(json.dumps(out))
`;

function findPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

/** Runs the benchmark; returns table rows and the raw JSON. */
export async function run(): Promise<{ rows: Record<string, string | number>[]; json: unknown }> {
  const quick = process.env.BENCH_QUICK === '1';
  const nTrain = quick ? 5_000 : 50_000;
  const nTest = quick ? 1_000 : 10_000;
  const { X, y, Xt, yt } = mixture(nTrain, nTest, 2024);
  const { backend } = await initTf();
  const rows: Record<string, string | number>[] = [];
  const results: Record<string, { fit_s: number; predict_s: number; test_acc: number; [k: string]: number | string }> = {};
  let chosenC = 1;
  // BENCH_KINDS=mlp,logreg limits the run (ours and the references) to those kinds.
  const kinds = (process.env.BENCH_KINDS?.split(',') ?? [...CLASSIFIER_KINDS]) as ClassifierKind[];
  for (const kind of kinds) {
    const clf = createClassifier(kind, {}, { numClasses: C, seed: 0 });
    const t0 = performance.now();
    await clf.fit(X, y);
    const fit = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    const pred = await clf.predict(Xt);
    const predict = (performance.now() - t1) / 1000;
    const acc = accuracy(yt, pred);
    if (kind === 'logreg') chosenC = (clf as unknown as { chosenC: number }).chosenC;
    results[kind] = { fit_s: fit, predict_s: predict, test_acc: acc, backend: clf.backend };
    rows.push({ model: `dinolab ${kind}`, fit_s: +fit.toFixed(2), predict_s: +predict.toFixed(3), test_acc: +(100 * acc).toFixed(2), note: String(results[kind]!.backend) });
    console.error(`[bench classifiers] ${kind}: fit ${fit.toFixed(1)} s, predict ${predict.toFixed(2)} s, acc ${(100 * acc).toFixed(2)} %`);
  }
  const py = findPython();
  if (py) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-'));
    try {
      writeNpyFile(path.join(dir, 'X.npy'), X.data, [X.rows, D]);
      writeNpyFile(path.join(dir, 'y.npy'), y, [y.length]);
      writeNpyFile(path.join(dir, 'Xt.npy'), Xt.data, [Xt.rows, D]);
      writeNpyFile(path.join(dir, 'yt.npy'), yt, [yt.length]);
      fs.writeFileSync(path.join(dir, 'bench.py'), PY);
      const out = execFileSync(py, [path.join(dir, 'bench.py'), dir, String(chosenC), kinds.join(',')], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const ref = JSON.parse(out.trim().split('\n').pop()!) as Record<string, { fit_s: number; predict_s: number; test_acc: number }>;
      for (const [k, v] of Object.entries(ref)) {
        results[k] = v;
        rows.push({ model: k.replace('_', ' '), fit_s: +v.fit_s.toFixed(2), predict_s: +v.predict_s.toFixed(3), test_acc: +(100 * v.test_acc).toFixed(2), note: 'reference' });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else {
    console.error('[bench classifiers] python3 with scikit-learn not found: no reference numbers.');
  }
  const ratios: Record<string, number> = {};
  const ratio = (name: string, ours: string, ref: string): void => {
    if (results[ours] && results[ref]) {
      ratios[`${name}_fit_speedup`] = results[ref]!.fit_s / results[ours]!.fit_s;
      ratios[`${name}_acc_diff_points`] = 100 * (results[ours]!.test_acc - results[ref]!.test_acc);
    }
  };
  ratio('svc_vs_sklearn', 'svc', 'sklearn_svc');
  ratio('logreg_vs_sklearn', 'logreg', 'sklearn_logreg');
  ratio('mlp_vs_torch', 'mlp', 'torch_mlp');
  for (const [k, v] of Object.entries(ratios)) console.error(`[bench classifiers] ${k}: ${v.toFixed(2)}`);
  return { rows, json: { nTrain, nTest, dim: D, classes: C, tfBackend: backend, results, ratios } };
}

// Runnable on its own: `npx tsx bench/classifiers.ts`.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  run().then(
    (r) => {
      console.table(r.rows);
      console.log(JSON.stringify(r.json, null, 2));
    },
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
