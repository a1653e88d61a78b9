/**
 * OOD metrics against scikit-learn: the reference JSON is made by testdata/gen_ood_reference.py
 * (scikit-learn 1.2.1's roc_auc_score, average_precision_score and roc_curve), committed so CI needs no Python.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { mahalanobisScorer } from './benchmark';
import { auroc, averagePrecision, fprAtTpr, oodMetrics, rocCurve } from './ood-metrics';

interface RefCase {
  name: string;
  in: number[];
  out: number[];
  auroc: number;
  aupr_in: number;
  aupr_out: number;
  fpr_at_95_tpr: number;
}
const ref = JSON.parse(readFileSync(path.join(__dirname, 'testdata/ood-reference.json'), 'utf8')) as {
  cases: RefCase[];
  mahalanobis: { X: number[][]; y: number[]; Q: number[][]; shrinkage: number; score: number[] };
};
const mat = (rows: number[][]): { rows: number; cols: number; data: Float32Array } => ({ rows: rows.length, cols: rows[0]!.length, data: Float32Array.from(rows.flat()) });

describe('OOD metrics as scikit-learn defines them', () => {
  it.each(ref.cases.map((c) => [c.name, c] as const))('%s: AUROC, AUPR in/out to 1e-9, FPR@95 exactly', (_name, c) => {
    const m = oodMetrics(c.in, c.out);
    expect(Math.abs(m.auroc - c.auroc)).toBeLessThan(1e-9);
    expect(Math.abs(m.aupr_in - c.aupr_in)).toBeLessThan(1e-9);
    expect(Math.abs(m.aupr_out - c.aupr_out)).toBeLessThan(1e-9);
    expect(m.fpr_at_95_tpr).toBe(c.fpr_at_95_tpr);
  });

  it('counts a tie between an in and an out sample as one half (hand-computed)', () => {
    // in {2, 1}, out {1, 0}: pairs (2>1) (2>0) (1=1 -> 1/2) (1>0) = 3.5 / 4.
    expect(auroc([1, 1, 0, 0], [2, 1, 1, 0])).toBe(0.875);
    // Thresholds 2: P=1/1, R=1/2; 1: P=2/3, R=1 -> AP = 0.5*1 + 0.5*2/3.
    expect(averagePrecision([1, 1, 0, 0], [2, 1, 1, 0])).toBeCloseTo(0.5 + 1 / 3, 15);
    // TPR reaches 0.95 only at threshold 1, where one of two out samples passes.
    expect(fprAtTpr([1, 1, 0, 0], [2, 1, 1, 0])).toBe(0.5);
    expect(rocCurve([1, 1, 0, 0], [2, 1, 1, 0])).toEqual({ fpr: [0, 0, 0.5, 1], tpr: [0, 0.5, 1, 1], thresholds: [Infinity, 2, 1, 0] });
  });

  it('refuses a benchmark without both kinds of samples or with a non-finite score', () => {
    expect(() => oodMetrics([1, 2], [])).toThrow(/both/);
    expect(() => oodMetrics([1, NaN], [0])).toThrow(/not finite/);
  });

  it("scores negative Mahalanobis distance with scikit-learn's Ledoit-Wolf shrinkage", async () => {
    const m = ref.mahalanobis;
    const scorer = await mahalanobisScorer(mat(m.X), Int32Array.from(m.y));
    expect(scorer.shrinkage).toBeCloseTo(m.shrinkage, 5);
    const got = await scorer.score(mat(m.Q));
    // float32 vectors and a float32 covariance product: agreement to about 1e-5 relative.
    got.forEach((v, i) => expect(Math.abs(v - m.score[i]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(m.score[i]!))));
  });
});
