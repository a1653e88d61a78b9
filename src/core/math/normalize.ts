import type { Matrix } from './matrix';

/** L2-normalised copy of the rows (zero rows stay zero). */
export function normalizeRows(X: Matrix): Float32Array {
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < X.rows; i++) {
    const o = i * X.cols;
    let s = 0;
    for (let j = 0; j < X.cols; j++) s += X.data[o + j]! * X.data[o + j]!;
    const inv = s > 0 ? 1 / Math.sqrt(s) : 0;
    for (let j = 0; j < X.cols; j++) out[o + j] = X.data[o + j]! * inv;
  }
  return out;
}

/** Row-wise softmax in place (numerically stable). */
export function softmaxRowsInPlace(m: Matrix): Matrix {
  const { rows, cols, data } = m;
  for (let i = 0; i < rows; i++) {
    const o = i * cols;
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) if (data[o + j]! > mx) mx = data[o + j]!;
    let s = 0;
    for (let j = 0; j < cols; j++) {
      const e = Math.exp(data[o + j]! - mx);
      data[o + j] = e;
      s += e;
    }
    for (let j = 0; j < cols; j++) data[o + j] = data[o + j]! / s;
  }
  return m;
}

/** Divides each row of a row-major [rows x cols] array by its sum, in place (float32 softmax rows can miss 1 by a few ulps). */
export function renormalizeRowsInPlace(out: Float32Array, rows: number, cols: number): void {
  for (let i = 0; i < rows; i++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += out[i * cols + c]!;
    for (let c = 0; c < cols; c++) out[i * cols + c] = out[i * cols + c]! / s;
  }
}

/**
 * Per-column mean and standard deviation of X, as scikit-learn's StandardScaler (population variance;
 * constant columns keep std 1 so they stay unscaled). With `enabled` false: mean 0, std 1 (identity).
 */
export function columnStandardizer(X: Matrix, enabled: boolean): { mean: Float32Array; std: Float32Array } {
  const D = X.cols;
  const sum = new Float64Array(D);
  const sq = new Float64Array(D);
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < D; j++) {
      const v = X.data[i * D + j]!;
      sum[j] = sum[j]! + v;
      sq[j] = sq[j]! + v * v;
    }
  }
  const mean = new Float32Array(D);
  const std = new Float32Array(D).fill(1);
  if (enabled) {
    for (let j = 0; j < D; j++) {
      const m = sum[j]! / X.rows;
      const v = Math.max(0, sq[j]! / X.rows - m * m);
      mean[j] = m;
      std[j] = v > 0 ? Math.sqrt(v) : 1;
    }
  }
  return { mean, std };
}

/** (X - mean) / std per column, as a new matrix. */
export function standardizeRows(X: Matrix, mean: Float32Array, std: Float32Array): Matrix {
  const out = new Float32Array(X.data.length);
  for (let i = 0; i < X.rows; i++) {
    const o = i * X.cols;
    for (let j = 0; j < X.cols; j++) out[o + j] = (X.data[o + j]! - mean[j]!) / std[j]!;
  }
  return { rows: X.rows, cols: X.cols, data: out };
}
