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
 *   selected finished run. Energy scores need logits, which no classifier exposes yet (not computed).
 */
import { KnnClassifier } from '../classifiers/knn/knn';
import type { Db } from '../db/database';
import { getSetRow, loadSetMatrix } from '../embeddings/queries';
import { LabError } from '../errors';
import { initTf } from '../classifiers/tf-backend';
import type { Matrix } from '../math/matrix';
import { OOD_K } from '../predict/probe';
import { listRuns, loadRunClassifier } from '../runs/queries';
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

/** Ledoit-Wolf shrunk covariance of class-centred rows (scikit-learn's ledoit_wolf, assume_centered=True). */
export function ledoitWolf(Xc: Float64Array, n: number, D: number, S: Float64Array): { cov: Float64Array; shrinkage: number } {
  // S (D x D) = Xc^T Xc / n, computed by the caller. beta from sum_i ||x_i||^4 (see the module comment).
  let trace = 0;
  for (let j = 0; j < D; j++) trace += S[j * D + j]!;
  const mu = trace / D;
  let fro2 = 0;
  for (let i = 0; i < D * D; i++) fro2 += S[i]! * S[i]!;
  let sum4 = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < D; j++) s += Xc[i * D + j]! ** 2;
    sum4 += s * s;
  }
  let beta = (1 / (D * n)) * (sum4 / n - fro2);
  const delta = (fro2 - 2 * mu * trace + D * mu * mu) / D;
  beta = Math.min(beta, delta);
  const shrinkage = beta === 0 ? 0 : beta / delta;
  const cov = new Float64Array(D * D);
  for (let i = 0; i < D * D; i++) cov[i] = (1 - shrinkage) * S[i]!;
  for (let j = 0; j < D; j++) cov[j * D + j]! += shrinkage * mu;
  return { cov, shrinkage };
}

/** Inverse of a symmetric positive definite matrix by Cholesky. */
function spdInverse(A: Float64Array, D: number): Float64Array {
  const L = new Float64Array(D * D);
  for (let i = 0; i < D; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * D + j]!;
      for (let k = 0; k < j; k++) s -= L[i * D + k]! * L[j * D + k]!;
      if (i === j) {
        if (!(s > 0)) throw new LabError('invalid_input', 'The training covariance is singular even after shrinkage (constant features?).');
        L[i * D + i] = Math.sqrt(s);
      } else L[i * D + j] = s / L[j * D + j]!;
    }
  }
  // inv(L) by forward substitution, then inv(A) = inv(L)^T inv(L).
  const Li = new Float64Array(D * D);
  for (let c = 0; c < D; c++) {
    for (let i = c; i < D; i++) {
      let s = i === c ? 1 : 0;
      for (let k = c; k < i; k++) s -= L[i * D + k]! * Li[k * D + c]!;
      Li[i * D + c] = s / L[i * D + i]!;
    }
  }
  const inv = new Float64Array(D * D);
  for (let i = 0; i < D; i++)
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < D; k++) s += Li[k * D + i]! * Li[k * D + j]!;
      inv[i * D + j] = s;
      inv[j * D + i] = s;
    }
  return inv;
}

/** The Mahalanobis scorer of a training split: minus the smallest squared distance to a class mean. */
export async function mahalanobisScorer(train: Matrix, y: Int32Array): Promise<{ score: (q: Matrix) => Promise<Float64Array>; shrinkage: number }> {
  const { tf } = await initTf();
  const n = train.rows;
  const D = train.cols;
  const C = 1 + Math.max(0, ...y);
  const means = new Float64Array(C * D);
  const cnt = new Float64Array(C);
  for (let i = 0; i < n; i++) {
    cnt[y[i]!]!++;
    for (let j = 0; j < D; j++) means[y[i]! * D + j]! += train.data[i * D + j]!;
  }
  for (let c = 0; c < C; c++) for (let j = 0; j < D; j++) means[c * D + j]! /= Math.max(1, cnt[c]!);
  const Xc = new Float64Array(n * D);
  for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) Xc[i * D + j] = train.data[i * D + j]! - means[y[i]! * D + j]!;
  // S = Xc^T Xc / n as one float32 product (the shrinkage and inverse run in float64).
  const Sf = tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(Xc), [n, D]);
    return tf.matMul(tf.transpose(x), x).div(n);
  });
  const S = Float64Array.from((await Sf.data()) as Float32Array);
  Sf.dispose();
  for (let i = 0; i < D; i++) for (let j = 0; j < i; j++) S[i * D + j] = S[j * D + i] = (S[i * D + j]! + S[j * D + i]!) / 2;
  const { cov, shrinkage } = ledoitWolf(Xc, n, D, S);
  const P = spdInverse(cov, D);
  // d_c(x) = x'Px - 2 (P mu_c)'x + mu_c'P mu_c.
  const Pmu = new Float64Array(C * D);
  const muPmu = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    for (let i = 0; i < D; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += P[i * D + j]! * means[c * D + j]!;
      Pmu[c * D + i] = s;
      muPmu[c]! += s * means[c * D + i]!;
    }
  }
  const present = Array.from({ length: C }, (_, c) => c).filter((c) => cnt[c]! > 0);
  const Pf = Float32Array.from(P);
  return {
    shrinkage,
    async score(q: Matrix): Promise<Float64Array> {
      const QPt = tf.tidy(() => tf.matMul(tf.tensor2d(q.data, [q.rows, D]), tf.tensor2d(Pf, [D, D])));
      const QP = (await QPt.data()) as Float32Array;
      QPt.dispose();
      const out = new Float64Array(q.rows);
      for (let r = 0; r < q.rows; r++) {
        let xPx = 0;
        for (let j = 0; j < D; j++) xPx += QP[r * D + j]! * q.data[r * D + j]!;
        let best = Infinity;
        for (const c of present) {
          let cross = 0;
          for (let j = 0; j < D; j++) cross += Pmu[c * D + j]! * q.data[r * D + j]!;
          const d = xPx - 2 * cross + muPmu[c]!;
          if (d < best) best = d;
        }
        out[r] = -best;
      }
      return out;
    },
  };
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
  const all = concatRows(inn.X, out.X);
  const nIn = inn.X.rows;
  const split = (s: Float64Array): { in: Float64Array; out: Float64Array } => ({ in: s.subarray(0, nIn), out: s.subarray(nIn) });
  const scores: OodScore[] = [];
  const add = (name: string, description: string, s: Float64Array): void => {
    const p = split(s);
    scores.push({ name, description, ...p, metrics: oodMetrics(p.in, p.out) });
  };
  const knn = await knnScores(train.X, train.y, all);
  add('knn_k1', 'cosine similarity to the nearest training vector', knn.k1);
  add(`knn_k${OOD_K}`, `mean cosine similarity to the ${OOD_K} nearest training vectors (the Try page's score)`, knn.kTry);
  const maha = await mahalanobisScorer(train.X, train.y);
  add('mahalanobis', `minus the smallest squared Mahalanobis distance to a class mean (shared covariance, Ledoit-Wolf shrinkage ${maha.shrinkage.toFixed(4)})`, await maha.score(all));
  const done = listRuns(db, req.setId).filter((r) => r.status === 'done');
  const runIds = req.runIds ?? done.map((r) => r.id);
  for (const id of runIds) {
    const r = done.find((x) => x.id === id);
    if (!r) throw new LabError('invalid_input', `Run ${id} is not a finished run of embedding set ${req.setId}.`);
    const proba = await loadRunClassifier(db, id).predictProba(all);
    const msp = new Float64Array(all.rows);
    for (let i = 0; i < all.rows; i++) {
      let m = 0;
      for (let c = 0; c < proba.cols; c++) m = Math.max(m, proba.data[i * proba.cols + c]!);
      msp[i] = m;
    }
    add(`msp:run-${id}`, `maximum softmax probability of run ${id} (${r.kind})`, msp);
  }
  const oodSplit = req.oodSplit ?? 'test';
  const testIds = oodSplit === 'all' ? new Set(loadSetMatrix(db, req.oodSetId, 'test').sampleIds) : null;
  const outSplits = Array.from(out.sampleIds, (sid) => (testIds ? (testIds.has(sid) ? 'test' : 'train') : oodSplit) as 'train' | 'test');
  return { setId: req.setId, oodSetId: req.oodSetId, inIds: inn.sampleIds, outIds: out.sampleIds, outSplits, trainRows: train.X.rows, scores, seconds: (performance.now() - t0) / 1000 };
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
