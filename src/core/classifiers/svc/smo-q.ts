/** What the SMO solver (smo-solver.ts) reads and returns: its Q matrix interface, its options and its solution. */

/** Result of one binary C-SVC: signed dual coefficients y_i * alpha_i (in the input order) and rho. */
export interface BinarySolution {
  /** y_i * alpha_i for each training row of the subproblem, in the order given to the solver. */
  coef: Float64Array;
  rho: number;
  iterations: number;
  /** Dual objective value (libsvm's obj). */
  obj: number;
}

/** Swaps positions i and j of a Q matrix's row map, labels and diagonal (shrinking reorders them together). */
export function swapSlots(pos: Int32Array, y: Int8Array, QD: Float64Array, i: number, j: number): void {
  const p = pos[i]!;
  pos[i] = pos[j]!;
  pos[j] = p;
  const t = y[i]!;
  y[i] = y[j]!;
  y[j] = t;
  const q = QD[i]!;
  QD[i] = QD[j]!;
  QD[j] = q;
}

/** The Q matrix the solver reads (libsvm's QMatrix): rows in the solver's current order, swappable. */
export interface SmoQ {
  readonly y: Int8Array;
  readonly QD: Float64Array;
  /** Row i of Q with entries [0, len) valid; stays valid across the next getQ call for another row. */
  getQ(i: number, len: number): Float32Array;
  /**
   * Optional, for gradient reconstruction without gathering whole rows (same values, same order):
   * sum over t < count of w[cols[t]] * Q[i][cols[t]], accumulated in t order.
   */
  dotAt?(i: number, cols: Int32Array, count: number, w: Float64Array): number;
  /** Optional: G[j] += a * Q[i][j] for j in [from, to), in j order. */
  axpyRange?(i: number, from: number, to: number, a: number, G: Float64Array): void;
  swapIndex(i: number, j: number): void;
}

/** Options of the SMO solver (libsvm's -e, -h and the iteration cap). */
export interface SmoOptions {
  C: number;
  /** Stopping tolerance on the maximal violating pair (libsvm eps). */
  eps: number;
  shrinking: boolean;
  /** Iteration cap; -1 = libsvm's default max(10^7, 100 l). */
  maxIter: number;
}
