/**
 * Out-of-distribution detection metrics, defined as scikit-learn defines them (ties included). Scores are
 * "higher = more in-distribution"; in-distribution samples are the positive class unless said otherwise.
 *
 * - AUROC: `roc_auc_score(y_in, score)` — the trapezoidal area under the ROC curve whose points are the
 *   distinct score thresholds (tied scores move TPR and FPR together, i.e. a tie counts one half).
 * - AUPR-in: `average_precision_score(y_in, score)`; AUPR-out: `average_precision_score(1 - y_in, -score)`.
 *   AP = sum over distinct thresholds (descending) of (R_n - R_(n-1)) * P_n, no interpolation.
 * - FPR@95: on `roc_curve(y_in, score, drop_intermediate=False)`, the FPR of the first threshold (highest
 *   score first) whose TPR reaches 0.95: `fpr[np.searchsorted(tpr, 0.95, side='left')]`. No interpolation
 *   between ROC points: a threshold that lets 95 % of in-distribution samples through, and the share of
 *   out-of-distribution samples it lets through with them.
 */

/** One point of the ROC curve per distinct threshold, starting at (0, 0). */
export interface RocCurve {
  fpr: number[];
  tpr: number[];
  thresholds: number[];
}

/** The metrics of one score. */
export interface OodMetrics {
  auroc: number;
  aupr_in: number;
  aupr_out: number;
  fpr_at_95_tpr: number;
}

/** Cumulative true/false positive counts at each distinct threshold (descending), as sklearn's _binary_clf_curve. */
function binaryCurve(positive: ArrayLike<number>, score: ArrayLike<number>): { tps: number[]; fps: number[]; thresholds: number[] } {
  const n = score.length;
  if (positive.length !== n) throw new Error(`ood metrics: ${positive.length} labels vs ${n} scores`);
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < n; i++) if (!Number.isFinite(score[i]!)) throw new Error(`ood metrics: score ${i} is not finite (${score[i]})`);
  order.sort((a, b) => score[b]! - score[a]!);
  const tps: number[] = [];
  const fps: number[] = [];
  const thresholds: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let j = 0; j < n; j++) {
    const i = order[j]!;
    if (positive[i]) tp++;
    else fp++;
    // A threshold ends where the next score differs (ties stay in one step).
    if (j === n - 1 || score[order[j + 1]!]! !== score[i]!) {
      tps.push(tp);
      fps.push(fp);
      thresholds.push(score[i]!);
    }
  }
  return { tps, fps, thresholds };
}

function counts(positive: ArrayLike<number>): { P: number; N: number } {
  let P = 0;
  for (let i = 0; i < positive.length; i++) if (positive[i]) P++;
  const N = positive.length - P;
  if (P === 0 || N === 0) throw new Error('ood metrics need both in- and out-of-distribution samples.');
  return { P, N };
}

/** The full ROC curve (every distinct threshold, drop_intermediate=False), with (0, 0) first. */
export function rocCurve(positive: ArrayLike<number>, score: ArrayLike<number>): RocCurve {
  const { P, N } = counts(positive);
  const c = binaryCurve(positive, score);
  return {
    fpr: [0, ...c.fps.map((f) => f / N)],
    tpr: [0, ...c.tps.map((t) => t / P)],
    thresholds: [Infinity, ...c.thresholds],
  };
}

/** scikit-learn's roc_auc_score (trapezoids over the ROC curve). */
export function auroc(positive: ArrayLike<number>, score: ArrayLike<number>): number {
  const r = rocCurve(positive, score);
  let a = 0;
  for (let i = 1; i < r.fpr.length; i++) a += ((r.fpr[i]! - r.fpr[i - 1]!) * (r.tpr[i]! + r.tpr[i - 1]!)) / 2;
  return a;
}

/** scikit-learn's average_precision_score. */
export function averagePrecision(positive: ArrayLike<number>, score: ArrayLike<number>): number {
  const { P } = counts(positive);
  const c = binaryCurve(positive, score);
  let ap = 0;
  let prevRecall = 0;
  for (let i = 0; i < c.tps.length; i++) {
    const recall = c.tps[i]! / P;
    const precision = c.tps[i]! / (c.tps[i]! + c.fps[i]!);
    ap += (recall - prevRecall) * precision;
    prevRecall = recall;
  }
  return ap;
}

/** FPR at the first threshold whose TPR reaches `tprLevel` (see the module's comment). */
export function fprAtTpr(positive: ArrayLike<number>, score: ArrayLike<number>, tprLevel = 0.95): number {
  const r = rocCurve(positive, score);
  for (let i = 0; i < r.tpr.length; i++) if (r.tpr[i]! >= tprLevel) return r.fpr[i]!;
  return 1;
}

/** All metrics of one score: inScores of the in-distribution samples, outScores of the others. */
export function oodMetrics(inScores: ArrayLike<number>, outScores: ArrayLike<number>): OodMetrics {
  const n = inScores.length + outScores.length;
  const y = new Uint8Array(n);
  const s = new Float64Array(n);
  for (let i = 0; i < inScores.length; i++) {
    y[i] = 1;
    s[i] = inScores[i]!;
  }
  for (let i = 0; i < outScores.length; i++) s[inScores.length + i] = outScores[i]!;
  const yOut = y.map((v) => 1 - v);
  const neg = s.map((v) => -v);
  return { auroc: auroc(y, s), aupr_in: averagePrecision(y, s), aupr_out: averagePrecision(yOut, neg), fpr_at_95_tpr: fprAtTpr(y, s) };
}
