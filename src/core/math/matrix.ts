/** A dense row-major float32 matrix: row i is data[i*cols .. (i+1)*cols). */
export interface Matrix {
  rows: number;
  cols: number;
  data: Float32Array;
}

/** Creates a rows x cols matrix of zeros, or wraps existing data. */
export function matrix(rows: number, cols: number, data?: Float32Array): Matrix {
  const d = data ?? new Float32Array(rows * cols);
  if (d.length !== rows * cols) throw new Error(`matrix: expected ${rows * cols} values, got ${d.length}`);
  return { rows, cols, data: d };
}

/** Argmax of each row. */
export function argmaxRows(m: Matrix): Int32Array {
  const out = new Int32Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let best = 0;
    let bv = -Infinity;
    const o = i * m.cols;
    for (let j = 0; j < m.cols; j++) {
      const v = m.data[o + j]!;
      if (v > bv) {
        bv = v;
        best = j;
      }
    }
    out[i] = best;
  }
  return out;
}

/** Copies the given rows of X into a new matrix. */
export function takeRows(X: Matrix, idx: ArrayLike<number>): Matrix {
  const out = new Float32Array(idx.length * X.cols);
  for (let i = 0; i < idx.length; i++) out.set(X.data.subarray(idx[i]! * X.cols, (idx[i]! + 1) * X.cols), i * X.cols);
  return { rows: idx.length, cols: X.cols, data: out };
}

/** Copies the given labels. */
export function takeLabels(y: Int32Array, idx: ArrayLike<number>): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = y[idx[i]!]!;
  return out;
}
