/**
 * The out-of-distribution benchmark: how well each score separates an embedding set's test images
 * (in-distribution) from another set's images (out-of-distribution), over whole splits.
 *
 * Scores, higher = more in-distribution:
 * - `knn_k1`: cosine similarity to the nearest training vector of S.
 * - `knn_k10`: mean cosine similarity to the 10 nearest (the Try page's "unusual image" score, OOD_K).
 * - `mahalanobis`: minus the smallest squared Mahalanobis distance to a class mean (Lee et al. 2018), with
 *   class means and one shared covariance of S's training split (centred per class). The covariance is
 *   shrunk by Ledoit-Wolf (scikit-learn's `ledoit_wolf` on the class-centred rows:
 *   Σ = (1 - s)·S + s·tr(S)/D·I, s from the data), so it is invertible even with fewer rows than dimensions.
 * - `msp:run-<id>`: the run's maximum softmax probability (MSP, Hendrycks & Gimpel 2017), for each
 *   selected finished run.
 * - `energy:run-<id>`: minus the run's energy (Liu et al. 2020), logsumexp of its logits, for runs of kinds
 *   with logits (logreg, mlp, keras; not knn or svc, see logits.ts).
 */
import { KnnClassifier } from '../classifiers/knn/knn';
import type { Db } from '../db/database';
import { getSetRow, loadSetMatrix } from '../embeddings/queries';
import { LabError } from '../errors';
import type { Matrix } from '../math/matrix';
import { cholesky, gemm, lowerInverse } from '../math/ort-linalg';
import { OOD_K } from '../predict/probe';
import { loadRunClassifier } from '../runs/models/queries';
import { listRuns } from '../runs/queries';
import { classifierLogits, logSumExpRows } from './logits';
import { oodMetrics, rocCurve, type OodMetrics } from './ood-metrics';

export interface OodRequest {
  setId: number;
  oodSetId: number;
  /** Finished runs of S whose MSP is scored; default: every finished run of S. */
  runIds?: number[];
  /** Which split of T is out-of-distribution (default: test; 'all' takes both). */
  oodSplit?: 'test' | 'train' | 'all';
}

export interface OodScore {
  name: string;
  description: string;
  in: Float64Array;
  out: Float64Array;
  metrics: OodMetrics;
}

export interface OodOutcome {
  setId: number;
  oodSetId: number;
  inIds: Int32Array;
  outIds: Int32Array;
  /** The split of each out-of-distribution sample. */
  outSplits: ('train' | 'test')[];
  trainRows: number;
  scores: OodScore[];
  seconds: number;
  /** Where the time went: loading, k-NN, Mahalanobis, each run's MSP/energy (seconds). */
  phases: Record<string, number>;
}

/** Refuses a pair that cannot be compared, saying why. */
function checkPair(db: Db, setId: number, oodSetId: number): void {
  const s = getSetRow(db, setId);
  const t = getSetRow(db, oodSetId);
  if (!s) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  if (!t) throw new LabError('not_found', `Embedding set ${oodSetId} does not exist.`);
  if (setId === oodSetId) throw new LabError('invalid_input', 'The in- and out-of-distribution sets must differ.');
  if (s.dataset_id === t.dataset_id) throw new LabError('invalid_input', `Sets ${setId} and ${oodSetId} embed the same dataset; the OOD set must be another dataset.`);
  if (s.backbone_id !== t.backbone_id) {
    throw new LabError('invalid_input', `Sets ${setId} and ${oodSetId} were embedded with different backbones (${s.backbone_id} vs ${t.backbone_id}): their vectors are not comparable.`);
  }
  if (s.preset !== t.preset) throw new LabError('invalid_input', `Sets ${setId} and ${oodSetId} use different presets (${s.preset} vs ${t.preset}): their vectors are not comparable.`);
  for (const r of [s, t]) if (r.status !== 'done') throw new LabError('conflict', `Embedding set ${r.id} is '${r.status}', not complete.`);
}

/** kNN cosine scores (k = 1 and the Try page's k) through the k-NN classifier's blocked similarity products. */
async function knnScores(train: Matrix, y: Int32Array, q: Matrix): Promise<{ k1: Float64Array; kTry: Float64Array }> {
  const knn = new KnnClassifier({ k: OOD_K, temperature: 0.07 }, { numClasses: 1 + Math.max(0, ...y) });
  await knn.fit(train, y);
  const nb = await knn.nearestNeighbors(q, OOD_K);
  const k1 = new Float64Array(q.rows);
  const kTry = new Float64Array(q.rows);
  for (let i = 0; i < q.rows; i++) {
    k1[i] = nb.similarities[i * nb.k]!;
    let s = 0;
    for (let j = 0; j < nb.k; j++) s += nb.similarities[i * nb.k + j]!;
    kTry[i] = s / nb.k;
  }
  return { k1, kTry };
}

/**
 * Ledoit-Wolf shrunk covariance (scikit-learn's ledoit_wolf, assume_centered=True) of n class-centred rows,
 * from S = Xc^T Xc / n (D x D) and sum4 = sum_i ||x_i||^4 over those rows.
 */
export function ledoitWolf(S: Float64Array, n: number, D: number, sum4: number): { cov: Float64Array; shrinkage: number } {
  let trace = 0;
  for (let j = 0; j < D; j++) trace += S[j * D + j]!;
  const mu = trace / D;
  let fro2 = 0;
  for (let i = 0; i < D * D; i++) fro2 += S[i]! * S[i]!;
  let beta = (1 / (D * n)) * (sum4 / n - fro2);
  const delta = (fro2 - 2 * mu * trace + D * mu * mu) / D;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  const cov = new Float64Array(D * D);
  for (let i = 0; i < D * D; i++) cov[i] = (1 - shrinkage) * S[i]!;
  for (let j = 0; j < D; j++) cov[j * D + j]! += shrinkage * mu;
  return { cov, shrinkage };
}

/** Rows per block of the covariance product and of the query whitening (bounds the float32 copies). */
const ROW_BLOCK = 4096;

export interface MahalanobisScorer {
  /** Minus the smallest squared Mahalanobis distance of each row to a class mean. */
  score(q: Matrix): Promise<Float64Array>;
  shrinkage: number;
  /** Seconds spent building it: the covariance product, and the factorisation and whitening matrix. */
  seconds: { covariance: number; factor: number };
}

/**
 * The Mahalanobis scorer of a training split. Σ (Ledoit-Wolf) = L L^T by a blocked Cholesky; W = L^{-1}
 * whitens, so d_c(x) = ||W x - W mu_c||^2 = ||z||^2 - 2 z·m_c + ||m_c||^2 with z = W x, m_c = W mu_c. The
 * O(n D^2) covariance and query products run in float32 on onnxruntime's Gemm (summed in float64), the
 * O(D^3) factorisation and inverse in float64 (ort-linalg.ts).
 */
export async function mahalanobisScorer(train: Matrix, y: Int32Array): Promise<MahalanobisScorer> {
  const n = train.rows;
  const D = train.cols;
  const C = 1 + Math.max(0, ...y);
  const t0 = performance.now();
  const means = new Float64Array(C * D);
  const cnt = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    const c = y[i]!;
    cnt[c]!++;
    for (let j = 0; j < D; j++) means[c * D + j]! += train.data[i * D + j]!;
  }
  for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) means[c * D + j]! /= Math.max(1, cnt[c]!);
  // S = Xc^T Xc / n over row blocks of class-centred rows; sum4 in the same pass.
  const S = new Float64Array(D * D);
  let sum4 = 0;
  for (let r0 = 0; r0 < n; r0 += ROW_BLOCK) {
    const rb = Math.min(ROW_BLOCK, n - r0);
    const xb = new Float32Array(rb * D);
    for (let i = 0; i < rb; i++) {
      const c = y[r0 + i]!;
      let s = 0;
      for (let j = 0; j < D; j++) {
        const v = train.data[(r0 + i) * D + j]! - means[c * D + j]!;
        xb[i * D + j] = v;
        s += v * v;
      }
      sum4 += s * s;
    }
    const g = await gemm(xb, rb, D, xb, rb, D, { transA: true });
    for (let i = 0; i < D * D; i++) S[i]! += g[i]!;
  }
  for (let i = 0; i < D; i++) {
    S[i * D + i]! /= n;
    for (let j = 0; j < i; j++) S[i * D + j] = S[j * D + i] = (S[i * D + j]! + S[j * D + i]!) / (2 * n);
  }
  const t1 = performance.now();
  const { cov, shrinkage } = ledoitWolf(S, n, D, sum4);
  let f: Awaited<ReturnType<typeof cholesky>>;
  try {
    f = await cholesky(cov, D);
  } catch {
    throw new LabError('invalid_input', 'The training covariance is singular even after shrinkage (constant features?).');
  }
  const W = await lowerInverse(f.L, D, f.diagInv);
  const W32 = Float32Array.from(W);
  const present = Array.from({ length: C }, (_, c) => c).filter((c) => cnt[c]! > 0);
  const P = present.length;
  const pm = new Float64Array(P * D);
  present.forEach((c, i) => pm.set(means.subarray(c * D, (c + 1) * D), i * D));
  const M = await gemm(pm, P, D, W, D, D, { transB: true }); // m_c = W mu_c, one row per present class
  const M32 = Float32Array.from(M);
  const mm = new Float64Array(P);
  for (let c = 0; c < P; c++) for (let j = 0; j < D; j++) mm[c]! += M[c * D + j]! ** 2;
  const t2 = performance.now();
  return {
    shrinkage,
    seconds: { covariance: (t1 - t0) / 1000, factor: (t2 - t1) / 1000 },
    async score(q: Matrix): Promise<Float64Array> {
      if (q.cols !== D) throw new LabError('invalid_input', `mahalanobis: expected ${D} features, got ${q.cols}.`);
      const out = new Float64Array(q.rows);
      for (let r0 = 0; r0 < q.rows; r0 += ROW_BLOCK) {
        const rb = Math.min(ROW_BLOCK, q.rows - r0);
        const Z = await gemm(q.data.subarray(r0 * D, (r0 + rb) * D), rb, D, W32, D, D, { transB: true });
        const cross = await gemm(Z, rb, D, M32, P, D, { transB: true });
        for (let i = 0; i < rb; i++) {
          let zz = 0;
          for (let j = 0; j < D; j++) zz += Z[i * D + j]! ** 2;
          let best = Infinity;
          for (let c = 0; c < P; c++) best = Math.min(best, zz - 2 * cross[i * P + c]! + mm[c]!);
          out[r0 + i] = -Math.max(0, best);
        }
      }
      return out;
    },
  };
}

// Mahalanobis scorers of recent training splits: the factorisation is done once per set (the page scores
// one set against several others). Keyed by the split's contents, so a changed or reused set id cannot hit.
const scorerCache = new Map<string, Promise<MahalanobisScorer>>();

function splitKey(X: Matrix, y: Int32Array): string {
  let a = 0;
  let b = 0;
  for (let i = 0; i < X.data.length; i++) {
    const v = X.data[i]!;
    a += v;
    b += v * ((i % 7919) + 1);
  }
  let l = 0;
  for (let i = 0; i < y.length; i++) l += y[i]! * ((i % 104729) + 1);
  return `${X.rows}x${X.cols}:${a}:${b}:${l}`;
}

/** The Mahalanobis scorer of a training split, built once and kept for the last few splits. */
export function cachedMahalanobisScorer(X: Matrix, y: Int32Array): Promise<MahalanobisScorer> {
  const key = splitKey(X, y);
  let p = scorerCache.get(key);
  if (!p) {
    p = mahalanobisScorer(X, y);
    p.catch(() => scorerCache.delete(key));
    scorerCache.set(key, p);
    while (scorerCache.size > 3) scorerCache.delete(scorerCache.keys().next().value!);
  }
  return p;
}

function concatRows(a: Matrix, b: Matrix): Matrix {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data);
  data.set(b.data, a.data.length);
  return { rows: a.rows + b.rows, cols: a.cols, data };
}

/** Runs the benchmark: every score on S's test split (in) and T's chosen split (out), with its metrics. */
export async function runOodBenchmark(db: Db, req: OodRequest): Promise<OodOutcome> {
  const t0 = performance.now();
  checkPair(db, req.setId, req.oodSetId);
  const train = loadSetMatrix(db, req.setId, 'train');
  const inn = loadSetMatrix(db, req.setId, 'test');
  const out = loadSetMatrix(db, req.oodSetId, req.oodSplit ?? 'test');
  if (train.X.rows === 0) throw new LabError('invalid_input', `Embedding set ${req.setId} has no training split to score against.`);
  if (inn.X.rows === 0) throw new LabError('invalid_input', `Embedding set ${req.setId} has no test split (the in-distribution samples).`);
  if (out.X.rows === 0) throw new LabError('invalid_input', `Embedding set ${req.oodSetId} has no ${req.oodSplit ?? 'test'} samples (the out-of-distribution samples).`);
  const phases: Record<string, number> = {};
  let mark = performance.now();
  const lap = (name: string): void => {
    const now = performance.now();
    phases[name] = (now - mark) / 1000;
    mark = now;
  };
  lap('load');
  const all = concatRows(inn.X, out.X);
  const nIn = inn.X.rows;
  const split = (s: Float64Array): { in: Float64Array; out: Float64Array } => ({ in: s.subarray(0, nIn), out: s.subarray(nIn) });
  const scores: OodScore[] = [];
  const add = (name: string, description: string, s: Float64Array): void => {
    const p = split(s);
    scores.push({ name, description, ...p, metrics: oodMetrics(p.in, p.out) });
  };
  const knn = await knnScores(train.X, train.y, all);
  lap('knn');
  add('knn_k1', 'cosine similarity to the nearest training vector', knn.k1);
  add(`knn_k${OOD_K}`, `mean cosine similarity to the ${OOD_K} nearest training vectors (the Try page's score)`, knn.kTry);
  const maha = await cachedMahalanobisScorer(train.X, train.y);
  add('mahalanobis', `minus the smallest squared Mahalanobis distance to a class mean (shared covariance, Ledoit-Wolf shrinkage ${maha.shrinkage.toFixed(4)})`, await maha.score(all));
  lap('mahalanobis');
  const done = listRuns(db, req.setId).filter((r) => r.status === 'done');
  const runIds = req.runIds ?? done.map((r) => r.id);
  for (const id of runIds) {
    const r = done.find((x) => x.id === id);
    if (!r) throw new LabError('invalid_input', `Run ${id} is not a finished run of embedding set ${req.setId}.`);
    const clf = loadRunClassifier(db, id);
    const proba = await clf.predictProba(all);
    const msp = new Float64Array(all.rows);
    for (let i = 0; i < all.rows; i++) {
      let m = 0;
      for (let c = 0; c < proba.cols; c++) m = Math.max(m, proba.data[i * proba.cols + c]!);
      msp[i] = m;
    }
    add(`msp:run-${id}`, `maximum softmax probability of run ${id} (${r.kind})`, msp);
    const logits = await classifierLogits(r.kind, clf, all);
    if (logits) add(`energy:run-${id}`, `minus the energy of run ${id} (${r.kind}): logsumexp of its logits`, logSumExpRows(logits));
    lap(`run-${id}`);
  }
  const oodSplit = req.oodSplit ?? 'test';
  const testIds = oodSplit === 'all' ? new Set(loadSetMatrix(db, req.oodSetId, 'test').sampleIds) : null;
  const outSplits = Array.from(out.sampleIds, (sid) => (testIds ? (testIds.has(sid) ? 'test' : 'train') : oodSplit) as 'train' | 'test');
  return { setId: req.setId, oodSetId: req.oodSetId, inIds: inn.sampleIds, outIds: out.sampleIds, outSplits, trainRows: train.X.rows, scores, seconds: (performance.now() - t0) / 1000, phases };
}

/** The ROC curve thinned to at most `points` points (for charts), and in/out histograms on shared bins. */
export function oodCharts(s: OodScore, points = 200, bins = 30): { roc: { fpr: number[]; tpr: number[] }; hist: { edges: number[]; in: number[]; out: number[] } } {
  const y = new Uint8Array(s.in.length + s.out.length);
  y.fill(1, 0, s.in.length);
  const all = new Float64Array(y.length);
  all.set(s.in);
  all.set(s.out, s.in.length);
  const r = rocCurve(y, all);
  const step = Math.max(1, Math.ceil(r.fpr.length / points));
  const keep = r.fpr.map((_, i) => i).filter((i) => i % step === 0 || i === r.fpr.length - 1);
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of all) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  if (hi === lo) hi = lo + 1;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + ((hi - lo) * i) / bins);
  const count = (a: Float64Array): number[] => {
    const h = new Array<number>(bins).fill(0);
    for (const v of a) h[Math.min(bins - 1, Math.floor(((v - lo) / (hi - lo)) * bins))]!++;
    return h;
  };
  return { roc: { fpr: keep.map((i) => r.fpr[i]!), tpr: keep.map((i) => r.tpr[i]!) }, hist: { edges, in: count(s.in), out: count(s.out) } };
}

/** The scores as CSV: sample_id, dataset, split, in_distribution (1/0), score_name, score. */
export function oodScoresCsv(o: OodOutcome, names: { inDataset: string; outDataset: string }): string {
  const lines = ['sample_id,dataset,split,in_distribution,score_name,score'];
  const q = (s: string): string => (/[",\n\r]|^[=+\-@\t\r]/.test(s) ? `"${(/^[=+\-@\t\r]/.test(s) ? "'" : '') + s.replace(/"/g, '""')}"` : s);
  for (const s of o.scores) {
    o.inIds.forEach((id, i) => lines.push(`${id},${q(names.inDataset)},test,1,${s.name},${s.in[i]!.toPrecision(17)}`));
    o.outIds.forEach((id, i) => lines.push(`${id},${q(names.outDataset)},${o.outSplits[i]},0,${s.name},${s.out[i]!.toPrecision(17)}`));
  }
  return lines.join('\n') + '\n';
}
