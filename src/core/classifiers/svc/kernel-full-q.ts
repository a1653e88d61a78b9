import { type SmoQ, swapSlots } from './smo-q';

/**
 * Where a class pair's precomputed kernel values lie in one Float32Array: pair row P's entry for pair
 * column q is K[rowL[P] + q] when q < split and K[rowR[P] + q] otherwise. A plain row-major l x l
 * matrix is rowL[P] = rowR[P] = P * l; a pair assembled from per-class blocks points the two halves of
 * each row at its class block and at the pair's cross block (or its transpose), so nothing is copied.
 */
export interface PairLayout {
  K: Float32Array;
  split: number;
  rowL: Int32Array;
  rowR: Int32Array;
}

/** K(pair row h, pair column q) of a layout. */
export function layoutValue(L: PairLayout, h: number, q: number): number {
  return L.K[(q < L.split ? L.rowL[h]! : L.rowR[h]!) + q]!;
}

/**
 * Q_ij = y_i y_j K_ij read from a precomputed pair kernel (see PairLayout), for the subset `positions`
 * of its rows. Used when a class pair's kernel fits the cache budget: every entry is then computed
 * once, in fast block products, and cross-validation folds reuse it. Rows are gathered into two
 * alternating buffers, so the two rows of one SMO step stay valid together.
 */
export class SvcQFull implements SmoQ {
  readonly y: Int8Array;
  readonly QD: Float64Array;
  private readonly pos: Int32Array;
  private readonly bufs: [Float32Array, Float32Array];
  private readonly memoRow = [-1, -1];
  private readonly memoLen = [0, 0];
  private readonly memoEpoch = [0, 0];
  private last = 1;
  private epoch = 0;

  constructor(
    private readonly layout: PairLayout,
    positions: Int32Array,
    y: Int8Array,
  ) {
    const l = positions.length;
    this.pos = Int32Array.from(positions);
    this.y = Int8Array.from(y);
    this.QD = new Float64Array(l);
    for (let i = 0; i < l; i++) this.QD[i] = layoutValue(layout, positions[i]!, positions[i]!);
    this.bufs = [new Float32Array(l), new Float32Array(l)];
  }

  getQ(i: number, len: number): Float32Array {
    for (let b = 0; b < 2; b++) {
      if (this.memoRow[b] === i && this.memoEpoch[b] === this.epoch && this.memoLen[b]! >= len) {
        this.last = b;
        return this.bufs[b];
      }
    }
    const b = 1 - this.last;
    const buf = this.bufs[b];
    const { K, split, rowL, rowR } = this.layout;
    const pos = this.pos;
    const y = this.y;
    const P = pos[i]!;
    const base = rowL[P]!;
    const delta = rowR[P]! - base;
    const last = split - 1;
    const yi = y[i]!;
    // ((split - 1 - q) >>> 31) is 1 exactly when q >= split: no branch on the (shuffled) column side.
    for (let k = 0; k < len; k++) {
      const q = pos[k]!;
      buf[k] = yi * y[k]! * K[base + q + ((last - q) >>> 31) * delta]!;
    }
    this.memoRow[b] = i;
    this.memoLen[b] = len;
    this.memoEpoch[b] = this.epoch;
    this.last = b;
    return buf;
  }

  // y_i y_j K_ij is exactly the float32 value getQ stores (a sign flip), so these fused loops give
  // the same sums as reading rows from getQ.
  dotAt(i: number, cols: Int32Array, count: number, w: Float64Array): number {
    const { K, split, rowL, rowR } = this.layout;
    const pos = this.pos;
    const y = this.y;
    const P = pos[i]!;
    const base = rowL[P]!;
    const delta = rowR[P]! - base;
    const last = split - 1;
    const yi = y[i]!;
    let s = 0;
    for (let t = 0; t < count; t++) {
      const c = cols[t]!;
      const q = pos[c]!;
      s += w[c]! * (yi * y[c]! * K[base + q + ((last - q) >>> 31) * delta]!);
    }
    return s;
  }

  axpyRange(i: number, from: number, to: number, a: number, G: Float64Array): void {
    const { K, split, rowL, rowR } = this.layout;
    const pos = this.pos;
    const y = this.y;
    const P = pos[i]!;
    const base = rowL[P]!;
    const delta = rowR[P]! - base;
    const last = split - 1;
    const yi = y[i]!;
    for (let j = from; j < to; j++) {
      const q = pos[j]!;
      G[j] += a * (yi * y[j]! * K[base + q + ((last - q) >>> 31) * delta]!);
    }
  }

  swapIndex(i: number, j: number): void {
    this.epoch++;
    swapSlots(this.pos, this.y, this.QD, i, j);
  }
}
