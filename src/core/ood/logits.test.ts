/**
 * Logits for the energy score, read from each kind's ONNX head: for logreg, mlp and keras, softmax(logits)
 * equals the classifier's own predictProba; k-NN and svc have no logits (null). logsumexp is checked by hand.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CLASSIFIER_KINDS } from '../../shared/contract';
import { createClassifier } from '../classifiers/registry';
import type { Classifier } from '../classifiers/types';
import type { Matrix } from '../math/matrix';
import { mulberry32 } from '../math/prng';
import { classifierLogits, logSumExpRows } from './logits';

const D = 6;
const C = 3;
let X: Matrix;
let y: Int32Array;
beforeAll(() => {
  const r = mulberry32(7);
  const n = 90;
  y = Int32Array.from({ length: n }, (_, i) => i % C);
  X = { rows: n, cols: D, data: Float32Array.from({ length: n * D }, (_, i) => r() + (Math.floor(i / D) % C === i % D ? 1.5 : 0)) };
});

const small: Record<string, Record<string, unknown>> = { mlp: { epochs: 3, hidden: 8 }, keras: { epochs: 3, hidden: 8 }, knn: { k: 5 } };

describe('classifier logits', () => {
  it.each(CLASSIFIER_KINDS.map((k) => [k]))('%s: softmax(logits) is its predictProba, or it has no logits', async (kind) => {
    const clf: Classifier<object> = createClassifier(kind, small[kind] ?? {}, { numClasses: C, seed: 1 });
    await clf.fit(X, y);
    const logits = await classifierLogits(kind, clf, X);
    if (kind === 'knn' || kind === 'svc') {
      expect(logits).toBeNull();
      return;
    }
    expect(logits).not.toBeNull();
    const proba = await clf.predictProba(X);
    expect(logits!.rows).toBe(X.rows);
    expect(logits!.cols).toBe(C);
    const lse = logSumExpRows(logits!);
    for (let i = 0; i < X.rows; i++) for (let c = 0; c < C; c++) expect(Math.abs(Math.exp(logits!.data[i * C + c]! - lse[i]!) - proba.data[i * C + c]!)).toBeLessThan(2e-5);
  });

  it('logsumexp of rows, stable for large logits', () => {
    const got = logSumExpRows({ rows: 2, cols: 3, data: Float32Array.from([0, 0, 0, 1000, 1000, 999]) });
    expect(got[0]).toBeCloseTo(Math.log(3), 12);
    expect(got[1]).toBeCloseTo(1000 + Math.log(2 + Math.exp(-1)), 9);
  });
});
