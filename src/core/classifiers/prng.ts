import type { Matrix } from './types';

/** A seeded PRNG (mulberry32): uniform floats in [0, 1). Same seed, same sequence, on every platform. */
export class Prng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ 0x9e3779b9;
  }
  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** Standard normal (Box-Muller). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }
  /** Fisher-Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: number }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i]!;
      a[i] = a[j]!;
      a[j] = t;
    }
    return a;
  }
}

/** 0..n-1 in a seeded random order. */
export function permutation(n: number, rng: Prng): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return rng.shuffle(p);
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

/**
 * A seeded, stratified hold-out: about `fraction` of each class goes to validation (at least one row of a
 * class with two or more rows), so small classes are not left out of either side.
 */
export function stratifiedSplit(
  y: Int32Array,
  fraction: number,
  seed: number,
): { train: Int32Array; validation: Int32Array } {
  const rng = new Prng(seed);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < y.length; i++) {
    const c = y[i]!;
    let l = byClass.get(c);
    if (!l) byClass.set(c, (l = []));
    l.push(i);
  }
  const tr: number[] = [];
  const va: number[] = [];
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const l = byClass.get(c)!;
    rng.shuffle(l as unknown as number[] & { [i: number]: number });
    let nv = Math.round(l.length * fraction);
    if (fraction > 0 && nv === 0 && l.length >= 2) nv = 1;
    if (nv >= l.length) nv = l.length - 1;
    for (let i = 0; i < l.length; i++) (i < nv ? va : tr).push(l[i]!);
  }
  tr.sort((a, b) => a - b);
  va.sort((a, b) => a - b);
  return { train: Int32Array.from(tr), validation: Int32Array.from(va) };
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
