import { describe, expect, it } from 'vitest';
import { roundTripModel } from '../model-codec';
import { defaultParams } from '../params-helpers';
import { logreg as logregSpec } from './index';
import { LogregClassifier, fitMultinomial } from './logreg';
import type { Matrix } from '../../math/matrix';
import { initTf } from '../tf-backend';

// A fixed dataset defined by a formula so that Python can rebuild it bit for bit (float32):
//   X[i,j] = sin(0.37*(7i+13j+1)) + 1.2*(j == i%3) + 0.3*cos(0.11*i*(j+1)),  y[i] = i % 3,  N=150, D=6.
function dataset(): { X: Matrix; y: Int32Array } {
  const N = 150;
  const D = 6;
  const X = new Float32Array(N * D);
  const y = new Int32Array(N);
  for (let i = 0; i < N; i++) {
    y[i] = i % 3;
    for (let j = 0; j < D; j++) X[i * D + j] = Math.sin(0.37 * (i * 7 + j * 13 + 1)) + (j === y[i] ? 1.2 : 0) + 0.3 * Math.cos(0.11 * i * (j + 1));
  }
  return { X: { rows: N, cols: D, data: X }, y };
}

// scikit-learn 1.2.1: Xs = (X - X.mean(0)) / X.std(0);
// m = LogisticRegression(C=0.01, tol=1e-10, max_iter=10000).fit(Xs.astype(float64), y)
const SK_C001 = {
  coef: [
    [0.276993, -0.139912, -0.106445, -0.012491, -0.09196, -0.002201],
    [-0.170909, 0.292049, -0.168782, 0.048377, 0.012237, -0.046854],
    [-0.106084, -0.152137, 0.275227, -0.035886, 0.079723, 0.049056],
  ],
  intercept: [-0.003323, 0.003755, -0.000432],
  proba: [
    [0.519195, 0.217075, 0.26373],
    [0.234323, 0.527623, 0.238054],
    [0.235607, 0.223484, 0.540909],
  ],
  pred: '012010010012012012012212012012012212212012010012012012012012012012012012212012012010112012012012212012012010012012012010010012012012012212012012010212',
  accuracy: 0.8933333333333333,
};
// Same with C=1.0 (m.coef_ rounded to 6 decimals).
const SK_C1_COEF = [
  [2.069249, -0.915921, -0.634641, -0.159237, -1.901446, -0.176483],
  [-1.343745, 2.054459, -1.391188, 0.605578, 0.282035, -0.638668],
  [-0.725504, -1.138539, 2.025829, -0.44634, 1.61941, 0.815151],
];

describe('logistic regression matches scikit-learn LogisticRegression', () => {
  it('C=0.01 through the classifier: coefficients, probabilities and predictions', async () => {
    const { X, y } = dataset();
    const clf = new LogregClassifier({ ...defaultParams(logregSpec), cGrid: [0.01], validationFraction: 0 }, { numClasses: 3, seed: 1 });
    await clf.fit(X, y);
    const { coef, intercept } = clf.coefficients();
    for (let k = 0; k < 3; k++) {
      for (let j = 0; j < 6; j++) expect(Math.abs(coef[k]![j]! - SK_C001.coef[k]![j]!)).toBeLessThan(2e-3);
      expect(Math.abs(intercept[k]! - SK_C001.intercept[k]!)).toBeLessThan(2e-3);
    }
    const P = await clf.predictProba({ rows: 3, cols: 6, data: X.data.subarray(0, 18) });
    for (let i = 0; i < 3; i++) for (let k = 0; k < 3; k++) expect(Math.abs(P.data[i * 3 + k]! - SK_C001.proba[i]![k]!)).toBeLessThan(1e-3);
    const pred = await clf.predict(X);
    expect(Array.from(pred).join('')).toBe(SK_C001.pred);
    // Reload reproduces the predictions.
    const again = LogregClassifier.load(roundTripModel(clf.toJSON()));
    expect(Array.from(await again.predict(X)).join('')).toBe(SK_C001.pred);
  });

  it('C=1 with a tight tolerance reaches the same optimum', async () => {
    const { tf } = await initTf();
    const { X, y } = dataset();
    const D = 6;
    const mean = new Float64Array(D);
    const sd = new Float64Array(D);
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < D; j++) mean[j] = mean[j]! + X.data[i * D + j]! / X.rows;
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < D; j++) sd[j] = sd[j]! + (X.data[i * D + j]! - mean[j]!) ** 2 / X.rows;
    const Z = new Float32Array(X.data.length);
    for (let i = 0; i < X.rows; i++) for (let j = 0; j < D; j++) Z[i * D + j] = (X.data[i * D + j]! - mean[j]!) / Math.sqrt(sd[j]!);
    const r = await fitMultinomial(tf, { rows: X.rows, cols: D, data: Z }, y, 3, 1, { maxIter: 5000, gtol: 1e-6 });
    for (let k = 0; k < 3; k++) for (let j = 0; j < D; j++) expect(Math.abs(r.W[j * 3 + k]! - SK_C1_COEF[k]![j]!)).toBeLessThan(2e-3);
  });

  it('chooses C on the validation split and reports each grid value', async () => {
    const { X, y } = dataset();
    const logs: number[] = [];
    const clf = new LogregClassifier({ ...defaultParams(logregSpec), cGrid: [1e-4, 1e-2, 1] }, { numClasses: 3, seed: 7 });
    await clf.fit(X, y, { onEpoch: (e) => logs.push(e.C!) });
    expect(logs).toEqual([1e-4, 1e-2, 1]);
    // C=1 separates this data perfectly (sklearn accuracy 1.0); weaker C cannot beat it on validation.
    expect(clf.chosenC).toBe(1);
  });
});
