import { KernelCache } from './kernel-cache';
import type { RbfKernel } from './kernel-rbf';
import { type SmoQ, swapSlots } from './smo-q';

/**
 * libsvm's SVC_Q for one binary subproblem: Q_ij = y_i y_j K(x_i, x_j) over the rows `rows` of the
 * kernel's matrix, in the solver's current order (shrinking permutes it through swapIndex).
 */
export class SvcQ implements SmoQ {
  /** Position -> row of the kernel's matrix. */
  readonly pos: Int32Array;
  readonly y: Int8Array;
  /** Diagonal of Q (1 for RBF, kept general). */
  readonly QD: Float64Array;
  private readonly cache: KernelCache;
  /** Kernel rows computed so far (for diagnostics and benchmarks). */
  rowsComputed = 0;

  constructor(
    private readonly kernel: RbfKernel,
    rows: Int32Array,
    y: Int8Array,
    cacheBytes: number,
  ) {
    const l = rows.length;
    this.pos = Int32Array.from(rows);
    this.y = Int8Array.from(y);
    this.QD = new Float64Array(l);
    const sq = kernel.sq;
    for (let i = 0; i < l; i++) {
      const r = rows[i]!;
      // ||x||^2 + ||x||^2 - 2 x.x is 0 up to rounding; libsvm evaluates the same expression.
      this.QD[i] = Math.exp(-kernel.gamma * (sq[r]! + sq[r]! - 2 * sq[r]!));
    }
    this.cache = new KernelCache(l, cacheBytes);
  }

  /** Row i of Q, entries [0, len) valid. */
  getQ(i: number, len: number): Float32Array {
    const start = this.cache.get(i, len);
    const row = this.cache.row(i);
    if (start < len) {
      this.kernel.fillRow(this.pos[i]!, this.y[i]!, this.pos, this.y, start, len, row);
      this.rowsComputed++;
    }
    return row;
  }

  /** Swaps positions i and j (data, labels, diagonal and cached rows/columns). */
  swapIndex(i: number, j: number): void {
    this.cache.swapIndex(i, j);
    swapSlots(this.pos, this.y, this.QD, i, j);
  }
}
