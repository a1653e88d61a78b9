/**
 * Kernel access for one class pair of the SVC (kernel-memory.ts hands them out): a precomputed pair kernel
 * read in place, or kernel rows computed on demand through libsvm's row cache.
 */
import { layoutValue, SvcQFull, type PairLayout } from './kernel-full-q';
import type { RbfKernel } from './kernel-rbf';
import { SvcQ } from './kernel-svc-q';
import type { SmoQ } from './smo-q';

/** Kernel access for one class pair's rows: a precomputed matrix, or rows computed on demand. */
export interface PairKernel {
  l: number;
  /** The pair's kernel matrix fits the cache budget (decides Platt's folds; held precomputed unless the slots did not allow). */
  full: boolean;
  /** The Q matrix of the subproblem made of pair rows `sub` with labels `labels`. */
  makeQ(sub: Int32Array, labels: Int8Array): SmoQ;
  /** Where the precomputed kernel lies (full pairs only): lets the SMO worker read it. */
  layout?: PairLayout;
  /** h -> sum_s coef_s K(pair row h, pair row sv_s). */
  scorer(sv: Int32Array, coef: Float64Array): (h: number) => number;
}

/** Kernel access through a precomputed pair kernel. */
export function fullKernel(layout: PairLayout, l: number): PairKernel {
  return {
    l,
    full: true,
    layout,
    makeQ: (sub, labels) => new SvcQFull(layout, sub, labels),
    scorer: (sv, coef) => (h) => {
      let s = 0;
      for (let u = 0; u < sv.length; u++) s += coef[u]! * layoutValue(layout, h, sv[u]!);
      return s;
    },
  };
}

/**
 * Kernel rows computed on demand through libsvm's row cache (pairs too large for the budget). `fits`: the
 * pair's matrix fits the budget (its slots did not), so Platt's folds are those of a precomputed pair.
 */
export function onDemandKernel(kernel: RbfKernel, rows: Int32Array, cacheBytes: number, fits: boolean): PairKernel {
  return {
    l: rows.length,
    full: fits,
    makeQ: (sub, labels) => new SvcQ(kernel, Int32Array.from(sub, (p) => rows[p]!), labels, cacheBytes),
    scorer: (sv, coef) => {
      const svRows = Int32Array.from(sv, (p) => rows[p]!);
      const kv = new Float32Array(sv.length);
      return (h) => {
        kernel.fillRow(rows[h]!, 1, svRows, null, 0, svRows.length, kv);
        let s = 0;
        for (let u = 0; u < coef.length; u++) s += coef[u]! * kv[u]!;
        return s;
      };
    },
  };
}
