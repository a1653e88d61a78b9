/**
 * The one seeded PRNG of the engine: mulberry32, deterministic across platforms. Three views of the same
 * generator, each keeping the sequences it has always produced (seeded results are pinned by tests):
 * `mulberry32(seed)` (state starts at seed: splits, synthetic data, UMAP), `uniformInt(seed)` (the same
 * stream as integers: libsvm-style fold shuffles) and the `Prng` class (state starts at seed ^ 0x9e3779b9:
 * weight init, epoch shuffles, normal draws).
 */
const GOLDEN = 0x9e3779b9;
const STEP = 0x6d2b79f5;

/** mulberry32's output function: the advanced state (int32 or uint32, same bits) to a float in [0, 1). */
function temper(state: number): number {
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

/** A seeded uniform [0, 1) source (mulberry32 with its state starting at `seed`). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + STEP) >>> 0;
    return temper(a);
  };
}

/** The mulberry32(seed) stream as uniform integers: n -> an integer in [0, n). */
export function uniformInt(seed: number): (n: number) => number {
  const rand = mulberry32(seed);
  return (n: number) => Math.floor(rand() * n);
}

/** Fisher-Yates shuffle in place with the given random source. */
export function shuffleInPlace<T>(a: T[], rand: () => number): T[] {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}

/** A seeded PRNG object: uniform floats in [0, 1), integers, normals, shuffles. Same seed, same sequence. */
export class Prng {
  private s: number;
  private spare: number | null = null;
  constructor(seed: number) {
    this.s = (seed >>> 0) ^ GOLDEN;
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.s = (this.s + STEP) | 0;
    return temper(this.s);
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

