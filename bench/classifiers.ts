/**
 * Classifier benchmark: every kind on a seeded, synthetic 10-class Gaussian mixture (50,000 x 384 train,
 * 10,000 test; BENCH_QUICK=1 shrinks both 10x) — not image features. When python3 has scikit-learn (and
 * torch), the references run on the same data. Like with like, each row beside its reference:
 *   - our SVC with probability=false (scikit-learn's SVC() default) and, as the app's default, with
 *     probability=true (5-fold Platt scaling on top), vs scikit-learn's plain SVC();
 *   - our logreg at one C (the C its search chose) and the default 13-value C search (13 fits + refit), vs
 *     scikit-learn's LogisticRegression at that C (one fit);
 *   - our mlp vs a plain tensor-indexing PyTorch loop and the DataLoader loop, both with
 *     torch.set_num_threads pinned to our mlp's onnxruntime intra-op threads.
 * Every row runs alone in its own process (peak RSS is its own: data generation or loading included,
 * and for PyTorch the interpreter and torch), and records the threads and the backend that really ran.
 * The machine is shared: times are comparable only as ratios within one run.
 * BENCH_KINDS=mlp,logreg limits the run (ours and the references) to those kinds. By default every kind
 * runs, except keras at full size (tfjs-wasm takes several minutes on 50,000 rows here: BENCH_KINDS=keras).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeNpy } from '../src/core/embeddings/npy';
import { CLASSIFIER_KINDS, type ClassifierKind } from '../src/shared/contract';
import { Prng } from '../src/core/math/prng';
import { createClassifier } from '../src/core/classifiers/registry';
import { initTf } from '../src/core/classifiers/tf-backend';
import { SVC_TUNING } from '../src/core/classifiers/svc/svc';
import { threadChoices } from '../src/core/classifiers/mlp/mlp-onnx-options';
import type { Matrix } from '../src/core/math/matrix';
import { accuracy } from '../src/core/metrics/metrics';

const D = 384;
const C = 10;
/** Class means ~ N(0, SEP^2) per dimension with unit noise: pairwise mean distance SEP*sqrt(2D) ~ 5 sd, ~95 % reachable. */
const SEP = 0.19;
const CHILD = '--classifiers-bench-child';

interface Row extends Record<string, string | number> {
  model: string;
  config: string;
  fit_s: number;
  predict_s: number;
  test_acc: number;
  /** Threads as really configured for this row. */
  threads: string;
  /** What really ran. */
  backend: string;
  peak_rss_mb: number;
}

function sizes(): { nTrain: number; nTest: number; quick: boolean } {
  const quick = process.env.BENCH_QUICK === '1';
  return { nTrain: quick ? 5_000 : 50_000, nTest: quick ? 1_000 : 10_000, quick };
}

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

/** One of our rows, in this (child) process. */
async function oursRow(kind: ClassifierKind, params: Record<string, unknown>, config: string): Promise<Row & { chosenC?: number }> {
  const { nTrain, nTest } = sizes();
  const { X, y, Xt, yt } = mixture(nTrain, nTest, 2024);
  const { backend: tf } = await initTf();
  const clf = createClassifier(kind, params, { numClasses: C, seed: 0 });
  const t0 = performance.now();
  await clf.fit(X, y);
  const fit = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pred = await clf.predict(Xt);
  const predict = (performance.now() - t1) / 1000;
  const wasmThreads = tf.includes('threads') ? 'threaded wasm' : '1 (tfjs wasm without threads under Node)';
  const tfThreads = tf.startsWith('wasm') ? wasmThreads : tf === 'tensorflow' ? 'TensorFlow C default intra-op' : '1';
  let threads: string;
  let backend: string;
  if (kind === 'svc') {
    const svc = clf as unknown as { kernelBackend: string | null };
    threads = `${SVC_TUNING.threads} cores available; solver: ${clf.backend}; block worker onnxruntime intra-op 1; predict onnxruntime default intra-op`;
    backend = `solver ${clf.backend}; kernel: ${svc.kernelBackend}`;
  } else if (kind === 'mlp') {
    threads = clf.backend === 'onnxruntime-cpu' ? `onnxruntime intra-op ${threadChoices(D, 256).join(' or ')} (the faster as measured), inter-op 1` : tfThreads;
    backend = `${clf.backend} (training engine)`;
  } else {
    threads = tfThreads;
    backend = `tfjs ${clf.backend}`;
  }
  const chosenC = kind === 'logreg' ? ((clf as unknown as { chosenC: number }).chosenC ?? undefined) : undefined;
  return {
    model: `dinolab ${kind}`,
    config,
    fit_s: +fit.toFixed(2),
    predict_s: +predict.toFixed(3),
    test_acc: +(100 * accuracy(yt, pred)).toFixed(2),
    threads,
    backend,
    peak_rss_mb: Math.round(process.resourceUsage().maxRSS / 1024),
    ...(chosenC !== undefined ? { chosenC } : {}),
  };
}

function oursInChild(kind: ClassifierKind, params: Record<string, unknown>, config: string): Row & { chosenC?: number } {
  console.error(`[bench classifiers] dinolab ${kind} (${config}) ...`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), CHILD, kind, JSON.stringify(params), config], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`bench child ${kind} (${config}) failed with status ${r.status}`);
  const row = JSON.parse(r.stdout.trim().split('\n').pop()!) as Row & { chosenC?: number };
  console.error(`[bench classifiers]   fit ${row.fit_s} s, predict ${row.predict_s} s, acc ${row.test_acc} %, ${row.backend}, ${row.peak_rss_mb} MB`);
  return row;
}

const PY = String.raw`
import json, resource, sys, time
import numpy as np
d, mode = sys.argv[1], sys.argv[2]
X = np.load(d + '/X.npy'); y = np.load(d + '/y.npy'); Xt = np.load(d + '/Xt.npy'); yt = np.load(d + '/yt.npy')
out = {}
if mode == 'svc':
    import sklearn
    from sklearn.svm import SVC
    t = time.perf_counter(); m = SVC().fit(X, y); fit = time.perf_counter() - t
    t = time.perf_counter(); p = m.predict(Xt); pr = time.perf_counter() - t
    out = {'model': 'scikit-learn %s SVC()' % sklearn.__version__, 'config': 'probability=False, cache_size=200', 'fit_s': fit, 'predict_s': pr,
           'test_acc': float((p == yt).mean()), 'n_support': int(m.n_support_.sum()), 'threads': '1 (libsvm)', 'backend': 'libsvm'}
elif mode == 'logreg':
    import sklearn
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_info
    s = StandardScaler().fit(X); Xs = s.transform(X); Xts = s.transform(Xt)
    C = float(sys.argv[3])
    t = time.perf_counter(); m = LogisticRegression(C=C, max_iter=1000).fit(Xs, y); fit = time.perf_counter() - t
    t = time.perf_counter(); p = m.predict(Xts); pr = time.perf_counter() - t
    blas = ', '.join('%s %s threads' % (i.get('internal_api'), i.get('num_threads')) for i in threadpool_info())
    out = {'model': 'scikit-learn %s LogisticRegression' % sklearn.__version__, 'config': 'one fit at C=%g (lbfgs, standardised)' % C, 'fit_s': fit, 'predict_s': pr,
           'test_acc': float((p == yt).mean()), 'threads': 'BLAS: ' + (blas or 'unknown'), 'backend': 'scipy L-BFGS-B + numpy BLAS'}
else:
    import torch, torch.nn as nn
    threads = int(sys.argv[3]); torch.set_num_threads(threads)
    torch.manual_seed(0)
    Xtr = torch.from_numpy(X); ytr = torch.from_numpy(y.astype(np.int64))
    n = len(Xtr); nv = n // 10; perm = torch.randperm(n); vi, ti = perm[:nv], perm[nv:]
    model = nn.Sequential(nn.Linear(X.shape[1], 256), nn.ReLU(), nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3); lossf = nn.CrossEntropyLoss()
    Xa, ya = Xtr[ti], ytr[ti]
    if mode == 'torch_dataloader':
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(Xa, ya), batch_size=64, shuffle=True)
        batches = lambda: loader
    else:
        def batches():
            p = torch.randperm(len(Xa))
            for s in range(0, len(Xa), 64):
                idx = p[s:s + 64]
                yield Xa[idx], ya[idx]
    best = -1; t = time.perf_counter()
    for ep in range(25):
        model.train()
        for xb, yb in batches():
            opt.zero_grad(); l = lossf(model(xb), yb); l.backward(); opt.step()
        model.eval()
        with torch.no_grad():
            a = (model(Xtr[vi]).argmax(1) == ytr[vi]).float().mean().item()
        if a > best: best = a; state = {k: v.clone() for k, v in model.state_dict().items()}
    fit = time.perf_counter() - t
    model.load_state_dict(state)
    t = time.perf_counter()
    with torch.no_grad(): p = model(torch.from_numpy(Xt)).argmax(1).numpy()
    loop = 'DataLoader(TensorDataset, batch 64, shuffle)' if mode == 'torch_dataloader' else 'plain loop: randperm + tensor indexing, batch 64'
    out = {'model': 'PyTorch %s mlp' % torch.__version__, 'config': '25 epochs, Adam 1e-3, best epoch on 10 % validation; ' + loop, 'fit_s': fit,
           'predict_s': time.perf_counter() - t, 'test_acc': float((p == yt).mean()), 'threads': 'torch.set_num_threads(%d), get_num_threads() = %d' % (threads, torch.get_num_threads()),
           'backend': 'PyTorch CPU (eager)'}
out['peak_rss_mb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(out))
`;

function findPython(): string | null {
  for (const py of [process.env.PYTHON, '/usr/bin/python3', 'python3'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import sklearn, numpy'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

function hasTorch(py: string): boolean {
  return spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

/** Runs the benchmark; returns table rows and the raw JSON. */
export async function run(): Promise<{ rows: Record<string, string | number>[]; json: unknown }> {
  const { nTrain, nTest, quick } = sizes();
  const kinds = (process.env.BENCH_KINDS?.split(',') ?? CLASSIFIER_KINDS.filter((k) => quick || k !== 'keras')) as ClassifierKind[];
  const rows: Row[] = [];
  const byConfig = new Map<string, Row>();
  const add = (key: string, r: Row): void => {
    rows.push(r);
    byConfig.set(key, r);
  };
  let chosenC: number | null = null;
  for (const kind of kinds) {
    if (kind === 'svc') {
      add('svc_proba_off', oursInChild('svc', { probability: false }, 'probability=false, cacheMb 512 (default)'));
      add('svc_proba_on', oursInChild('svc', {}, 'probability=true (app default), cacheMb 512 (default)'));
    } else if (kind === 'logreg') {
      const search = oursInChild('logreg', {}, '13-value C search on a 10 % validation split + refit (app default)');
      chosenC = search.chosenC ?? null;
      delete search.chosenC;
      search.config += `; chose C=${chosenC}`;
      add('logreg_search', search);
      const one = oursInChild('logreg', { cGrid: [chosenC], validationFraction: 0 }, `one fit at C=${chosenC}`);
      delete one.chosenC;
      add('logreg_one', one);
    } else {
      add(kind, oursInChild(kind, {}, 'defaults'));
    }
  }
  const notes = [
    ...(kinds.includes('keras') ? [] : ['keras not run (BENCH_KINDS=keras runs it).']),
    'Data: synthetic seeded Gaussian mixture (10 classes, 384 dims, class means N(0, 0.19^2), unit noise), not image features.',
    'Shared 2-core machine: times are comparable only as ratios within this run.',
    'scikit-learn SVC(probability=True) is not run (5-fold Platt scaling: about 5x its plain fit); compare our probability=false row with scikit-learn.',
  ];
  const py = findPython();
  if (py) {
    const { X, y, Xt, yt } = mixture(nTrain, nTest, 2024);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-bench-'));
    try {
      writeNpyFile(path.join(dir, 'X.npy'), X.data, [X.rows, D]);
      writeNpyFile(path.join(dir, 'y.npy'), y, [y.length]);
      writeNpyFile(path.join(dir, 'Xt.npy'), Xt.data, [Xt.rows, D]);
      writeNpyFile(path.join(dir, 'yt.npy'), yt, [yt.length]);
      fs.writeFileSync(path.join(dir, 'bench.py'), PY);
      const ref = (key: string, ...args: string[]): void => {
        console.error(`[bench classifiers] reference ${key} ...`);
        const r = spawnSync(py, [path.join(dir, 'bench.py'), dir, ...args], { encoding: 'utf8', maxBuffer: 1 << 24 });
        if (r.status !== 0) {
          notes.push(`reference ${key} failed: ${r.stderr.slice(-400)}`);
          return;
        }
        const v = JSON.parse(r.stdout.trim().split('\n').pop()!) as { model: string; config: string; fit_s: number; predict_s: number; test_acc: number; threads: string; backend: string; peak_rss_mb: number };
        const row: Row = { model: v.model, config: v.config, fit_s: +v.fit_s.toFixed(2), predict_s: +v.predict_s.toFixed(3), test_acc: +(100 * v.test_acc).toFixed(2), threads: v.threads, backend: v.backend, peak_rss_mb: Math.round(v.peak_rss_mb) };
        console.error(`[bench classifiers]   fit ${row.fit_s} s, acc ${row.test_acc} %, ${row.threads}, ${row.peak_rss_mb} MB`);
        add(key, row);
      };
      if (kinds.includes('svc')) ref('sklearn_svc', 'svc');
      if (kinds.includes('logreg') && chosenC !== null) ref('sklearn_logreg', 'logreg', String(chosenC));
      if (kinds.includes('mlp')) {
        if (hasTorch(py)) {
          // PyTorch at each thread count the mlp chooses between (it picks the faster as it runs; PyTorch
          // runs what it is set to): torch_plain / torch_dataloader at 1 thread, then at every core.
          for (const t of threadChoices(D, 256)) {
            const tag = t === 1 ? '' : `_${t}threads`;
            ref(`torch_plain${tag}`, 'torch_plain', String(t));
            ref(`torch_dataloader${tag}`, 'torch_dataloader', String(t));
          }
        } else notes.push('No torch in python3: no PyTorch rows.');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } else {
    notes.push('python3 with scikit-learn not found: no reference rows.');
  }
  const ratios: Record<string, number> = {};
  const ratio = (name: string, ours: string, ref: string): void => {
    const o = byConfig.get(ours);
    const r = byConfig.get(ref);
    if (o && r) {
      ratios[`${name}_fit_speedup`] = +(r.fit_s / o.fit_s).toFixed(2);
      ratios[`${name}_acc_diff_points`] = +(o.test_acc - r.test_acc).toFixed(2);
    }
  };
  ratio('svc_probability_false_vs_sklearn_svc', 'svc_proba_off', 'sklearn_svc');
  ratio('svc_probability_true_vs_sklearn_svc_unlike', 'svc_proba_on', 'sklearn_svc');
  ratio('logreg_one_c_vs_sklearn_one_fit', 'logreg_one', 'sklearn_logreg');
  ratio('logreg_13c_search_vs_sklearn_one_fit_unlike', 'logreg_search', 'sklearn_logreg');
  ratio('mlp_vs_torch_plain_loop', 'mlp', 'torch_plain');
  ratio('mlp_vs_torch_dataloader', 'mlp', 'torch_dataloader');
  for (const t of threadChoices(D, 256).filter((n) => n > 1)) {
    ratio(`mlp_vs_torch_plain_loop_${t}threads`, 'mlp', `torch_plain_${t}threads`);
    ratio(`mlp_vs_torch_dataloader_${t}threads`, 'mlp', `torch_dataloader_${t}threads`);
  }
  for (const [k, v] of Object.entries(ratios)) console.error(`[bench classifiers] ${k}: ${v}`);
  return {
    rows,
    json: { nTrain, nTest, dim: D, classes: C, quick, synthetic: true, availableParallelism: os.availableParallelism(), rows, ratios, notes },
  };
}

const self = process.argv[1] && path.resolve(process.argv[1]) === path.resolve(fileURLToPath(import.meta.url));
if (self && process.argv[2] === CHILD) {
  oursRow(process.argv[3] as ClassifierKind, JSON.parse(process.argv[4]!) as Record<string, unknown>, process.argv[5]!).then(
    (r) => console.log(JSON.stringify(r)),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
} else if (self) {
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
