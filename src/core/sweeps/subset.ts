/** Seeded, stratified subsets of a training split for label-efficiency sweeps. */
import { LabError } from '../errors';
import { Prng } from '../math/prng';

/** How a sweep sizes its subsets: a fraction of each class, or k images per class. */
export type SweepSize = { mode: 'fraction'; value: number } | { mode: 'per_class'; value: number };

/**
 * Row indices (ascending: the split's row order is kept) of a seeded stratified subset of labels `y`:
 * per class round(fraction x n_c) rows, at least 1 (every class present), or min(k, n_c) rows. Each class's
 * rows are drawn by a seeded shuffle of that class. A fraction of 1 returns every row, in order.
 */
export function stratifiedSubset(y: Int32Array, size: SweepSize, seed: number): Int32Array {
  if (size.mode === 'fraction' && !(size.value > 0 && size.value <= 1)) throw new LabError('invalid_input', `A fraction must be in (0, 1], got ${size.value}.`);
  if (size.mode === 'per_class' && !(Number.isInteger(size.value) && size.value >= 1)) throw new LabError('invalid_input', `Images per class must be a whole number >= 1, got ${size.value}.`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    let l = byClass.get(y[i]!);
    if (!l) byClass.set(y[i]!, (l = []));
    l.push(i);
  }
  const rng = new Prng(seed);
  const out: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const l = byClass.get(c)!;
    const take = size.mode === 'fraction' ? Math.min(l.length, Math.max(1, Math.round(size.value * l.length))) : Math.min(l.length, size.value);
    if (take < l.length) rng.shuffle(l);
    for (let i = 0; i < take; i++) out.push(l[i]!);
  }
  return Int32Array.from(out.sort((a, b) => a - b));
}

/** The smallest class count among the chosen rows. */
export function minPerClass(y: Int32Array, rows: Int32Array): number {
  const n = new Map<number, number>();
  for (const r of rows) n.set(y[r]!, (n.get(y[r]!) ?? 0) + 1);
  return Math.min(...n.values());
}
