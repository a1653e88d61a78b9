import type { Matrix } from '../../math/matrix';

/** RBF kernel K(x, z) = exp(-gamma * ||x - z||^2) over the rows of one float32 matrix. */
export class RbfKernel {
  /** Squared norm of every row of X (double), so each entry costs one dot product, as in libsvm. */
  readonly sq: Float64Array;

  constructor(
    readonly X: Matrix,
    readonly gamma: number,
  ) {
    this.sq = squaredNorms(X);
  }

  /**
   * out[k] = sign(a) * sign(idx[k]) * K(row a, row idx[k]) for k in [from, to); signs come from `y`
   * (indexed by position, like idx) when given. Four columns share each load of row a.
   */
  fillRow(a: number, ya: number, idx: Int32Array, y: Int8Array | null, from: number, to: number, out: Float32Array): void {
    const x = this.X.data;
    const d = this.X.cols;
    const sq = this.sq;
    const g = this.gamma;
    const oa = a * d;
    const sqa = sq[a]!;
    let k = from;
    for (; k + 3 < to; k += 4) {
      const r0 = idx[k]!;
      const r1 = idx[k + 1]!;
      const r2 = idx[k + 2]!;
      const r3 = idx[k + 3]!;
      const o0 = r0 * d;
      const o1 = r1 * d;
      const o2 = r2 * d;
      const o3 = r3 * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const v = x[oa + t]!;
        s0 += v * x[o0 + t]!;
        s1 += v * x[o1 + t]!;
        s2 += v * x[o2 + t]!;
        s3 += v * x[o3 + t]!;
      }
      const k0 = Math.exp(-g * (sqa + sq[r0]! - 2 * s0));
      const k1 = Math.exp(-g * (sqa + sq[r1]! - 2 * s1));
      const k2 = Math.exp(-g * (sqa + sq[r2]! - 2 * s2));
      const k3 = Math.exp(-g * (sqa + sq[r3]! - 2 * s3));
      if (y) {
        out[k] = ya * y[k]! * k0;
        out[k + 1] = ya * y[k + 1]! * k1;
        out[k + 2] = ya * y[k + 2]! * k2;
        out[k + 3] = ya * y[k + 3]! * k3;
      } else {
        out[k] = k0;
        out[k + 1] = k1;
        out[k + 2] = k2;
        out[k + 3] = k3;
      }
    }
    for (; k < to; k++) {
      const r = idx[k]!;
      const o = r * d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let t = 0;
      for (; t + 3 < d; t += 4) {
        s0 += x[oa + t]! * x[o + t]!;
        s1 += x[oa + t + 1]! * x[o + t + 1]!;
        s2 += x[oa + t + 2]! * x[o + t + 2]!;
        s3 += x[oa + t + 3]! * x[o + t + 3]!;
      }
      for (; t < d; t++) s0 += x[oa + t]! * x[o + t]!;
      const kv = Math.exp(-g * (sqa + sq[r]! - 2 * (s0 + s1 + s2 + s3)));
      out[k] = y ? ya * y[k]! * kv : kv;
    }
  }
}

/** Squared Euclidean norm of each row, accumulated in double. */
export function squaredNorms(X: Matrix): Float64Array {
  const out = new Float64Array(X.rows);
  const d = X.cols;
  const x = X.data;
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    const o = i * d;
    for (let t = 0; t < d; t++) {
      const v = x[o + t]!;
      s += v * v;
    }
    out[i] = s;
  }
  return out;
}

/** scikit-learn's gamma='scale': 1 / (D * Var(X)) with the variance over all entries (1 when Var is 0). */
export function scaleGamma(X: Matrix): number {
  const n = X.data.length;
  if (n === 0) return 1;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += X.data[i]!;
  mean /= n;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const dlt = X.data[i]! - mean;
    v += dlt * dlt;
  }
  v /= n;
  return v > 0 ? 1 / (X.cols * v) : 1;
}

/**
 * Kernel values between every row of A and every row of B (both row-major, same width), written as
 * out[i * B.rows + j]. Four columns of B share each load of a row of A.
 */
export function rbfCross(A: Matrix, sqA: Float64Array, B: Matrix, sqB: Float64Array, gamma: number, out: Float32Array): void {
  const a = A.data;
  const b = B.data;
  const d = A.cols;
  const m = B.rows;
  for (let i = 0; i < A.rows; i++) {
    const oa = i * d;
    const sqa = sqA[i]!;
    const ob = i * m;
    let j = 0;
    for (; j + 3 < m; j += 4) {
      const o0 = j * d;
      const o1 = o0 + d;
      const o2 = o1 + d;
      const o3 = o2 + d;
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (let t = 0; t < d; t++) {
        const v = a[oa + t]!;
        s0 += v * b[o0 + t]!;
        s1 += v * b[o1 + t]!;
        s2 += v * b[o2 + t]!;
        s3 += v * b[o3 + t]!;
      }
      out[ob + j] = Math.exp(-gamma * (sqa + sqB[j]! - 2 * s0));
      out[ob + j + 1] = Math.exp(-gamma * (sqa + sqB[j + 1]! - 2 * s1));
      out[ob + j + 2] = Math.exp(-gamma * (sqa + sqB[j + 2]! - 2 * s2));
      out[ob + j + 3] = Math.exp(-gamma * (sqa + sqB[j + 3]! - 2 * s3));
    }
    for (; j < m; j++) {
      const o = j * d;
      let s = 0;
      for (let t = 0; t < d; t++) s += a[oa + t]! * b[o + t]!;
      out[ob + j] = Math.exp(-gamma * (sqa + sqB[j]! - 2 * s));
    }
  }
}
