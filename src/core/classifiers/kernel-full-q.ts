import type { SmoQ } from './smo-solver';

/**
 * Q_ij = y_i y_j K_ij read from a precomputed kernel matrix (row-major, `stride` wide), for the subset
 * `positions` of its rows. Used when a class pair's whole kernel matrix fits the cache budget: every
 * entry is then computed once, in one fast block product, and cross-validation folds reuse it.
 * Rows are gathered into two alternating buffers, so the two rows of one SMO step stay valid together.
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
    private readonly K: Float32Array,
    private readonly stride: number,
    positions: Int32Array,
    y: Int8Array,
  ) {
    const l = positions.length;
    this.pos = Int32Array.from(positions);
    this.y = Int8Array.from(y);
    this.QD = new Float64Array(l);
    for (let i = 0; i < l; i++) this.QD[i] = K[positions[i]! * stride + positions[i]!]!;
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
    const K = this.K;
    const pos = this.pos;
    const y = this.y;
    const base = pos[i]! * this.stride;
    const yi = y[i]!;
    for (let k = 0; k < len; k++) buf[k] = yi * y[k]! * K[base + pos[k]!]!;
    this.memoRow[b] = i;
    this.memoLen[b] = len;
    this.memoEpoch[b] = this.epoch;
    this.last = b;
    return buf;
  }

  swapIndex(i: number, j: number): void {
    this.epoch++;
    let t = this.pos[i]!;
    this.pos[i] = this.pos[j]!;
    this.pos[j] = t;
    t = this.y[i]!;
    this.y[i] = this.y[j]!;
    this.y[j] = t;
    const q = this.QD[i]!;
    this.QD[i] = this.QD[j]!;
    this.QD[j] = q;
  }
}
