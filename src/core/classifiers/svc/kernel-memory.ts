/**
 * The SVC's kernel memory: per class pair, either a kernel matrix precomputed into one shared array of
 * blocks, or kernel rows computed on demand through libsvm's row cache.
 */
import os from 'node:os';
import { LabError } from '../../errors';
import { matrix, type Matrix } from '../../math/matrix';
import { layoutValue, SvcQFull, type PairLayout } from './kernel-full-q';
import { BlockWorker, rbfRowsOnnx } from './kernel-onnx';
import { rbfCross, type RbfKernel } from './kernel-rbf';
import { SvcQ } from './kernel-svc-q';
import type { SmoQ } from './smo-q';

/** Kernel access for one class pair's rows: a precomputed matrix, or rows computed on demand. */
export interface PairKernel {
  l: number;
  full: boolean;
  /** The Q matrix of the subproblem made of pair rows `sub` with labels `labels`. */
  makeQ(sub: Int32Array, labels: Int8Array): SmoQ;
  /** Where the precomputed kernel lies (full pairs only): lets the SMO worker read it. */
  layout?: PairLayout;
  /** h -> sum_s coef_s K(pair row h, pair row sv_s). */
  scorer(sv: Int32Array, coef: Float64Array): (h: number) => number;
}

/** Where the precomputed pairs' blocks lie in the shared array. */
interface BlockPlan {
  /** Offset of each class's block K(c, c), -1 when no precomputed pair needs it. */
  classOff: Float64Array;
  /** Pair index (fit order) -> index among the precomputed pairs. */
  orderIndex: Map<number, number>;
  /** The precomputed pairs in order, and their classes. */
  order: number[];
  pairOf: [number, number][];
  /** Where the cross-block slots start, and the size of one cross block. */
  crossBase: number;
  cross: number;
  slots: number;
  /** Floats in all. */
  total: number;
}

/**
 * Lays out the blocks: each class's K(c, c) once (shared by the class's k - 1 pairs), then
 * min(lanes + 1, pairs) slots each holding a cross block and its transpose.
 */
function planBlocks(classRows: Int32Array[], cacheBytes: number, lanes: number): BlockPlan {
  const k = classRows.length;
  const classOff = new Float64Array(k).fill(-1);
  const orderIndex = new Map<number, number>();
  const order: number[] = [];
  const pairOf: [number, number][] = [];
  let off = 0;
  let cross = 0;
  let p = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++, p++) {
      if (!pairFits(classRows, i, j, cacheBytes)) continue;
      orderIndex.set(p, order.length);
      order.push(p);
      pairOf.push([i, j]);
      for (const c of [i, j]) {
        if (classOff[c]! >= 0) continue;
        classOff[c] = off;
        off += classRows[c]!.length ** 2;
      }
      cross = Math.max(cross, classRows[i]!.length * classRows[j]!.length);
    }
  }
  const slots = Math.min(lanes + 1, order.length);
  return { classOff, orderIndex, order, pairOf, crossBase: off, cross, slots, total: off + 2 * slots * cross };
}

/**
 * Kernel access per class pair. When a pair's kernel matrix fits the cache budget ((n_a + n_b)^2
 * floats) it is precomputed from per-class blocks: K(c, c) once per class, shared by the class's k - 1
 * pairs, and per pair only the cross block K(a, b) and its transpose (written while each chunk is in
 * cache), read in place through a PairLayout; for ten balanced classes that is 55 blocks of products
 * instead of 180, and no pair matrix is assembled. The products run in a worker thread (onnxruntime,
 * one thread) into a SharedArrayBuffer, one pair ahead of the solvers: while pairs are solved, the
 * blocks of the next pair are computed (cross-block slots: one per solving lane, plus one ahead).
 * Without the worker they run here, through onnxruntime when present, else in JavaScript. Memory:
 * sum_c n_c^2 + 2 (lanes + 1) max n_a n_b floats for the whole fit (1.6 GB for 50,000 rows in ten
 * balanced classes, two lanes), beyond cacheMb, which still decides which pairs are precomputed; if
 * that exceeds a quarter of the machine's memory, or for pairs too large for the budget, kernel rows
 * are computed on demand through libsvm's row cache.
 */
export class PairKernels {
  private K: Float32Array | null = null;
  private worker: BlockWorker | null = null;
  private disposed = false;
  private readonly plan: BlockPlan;
  private readonly classReq: (Promise<void> | null)[];
  /** Cross-block slots: free ones, and the slot and request of each requested precomputed pair. */
  private readonly freeSlots: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private readonly crossReq = new Map<number, Promise<void>>();
  private nextPrefetch = 0;
  private onnx = true;
  /** How the kernels really ran, for the record: block products by engine, and pairs by kind. */
  readonly usage = { workerOnnxBlocks: 0, onnxBlocks: 0, jsBlocks: 0, precomputedPairs: 0, onDemandPairs: 0 };

  constructor(
    private readonly kernel: RbfKernel,
    /** Training rows of each present class, in class order. */
    private readonly classRows: Int32Array[],
    private readonly cacheBytes: number,
    /** Pairs being solved at once; one more slot holds the pair computed ahead. */
    private readonly lanes: number,
  ) {
    this.plan = planBlocks(classRows, cacheBytes, lanes);
    this.classReq = new Array<Promise<void> | null>(classRows.length).fill(null);
    for (let s = 0; s < this.plan.slots; s++) this.freeSlots.push(s);
  }

  /** Allocates the shared blocks array and starts the product worker; null when no pair is precomputed. */
  async allocate(): Promise<Float32Array | null> {
    if (this.K) return this.K;
    const K = this.allocateBlocks();
    if (!K) return null;
    this.K = K;
    // With one lane the products run here, in between the solves: no thread to gain.
    if (this.lanes > 1) this.worker = await BlockWorker.start(this.kernel.X, this.kernel.sq, this.kernel.gamma, K);
    return K;
  }

  /**
   * Kernel access for pair p = classes (i, j), whose rows (class i's, then class j's) are `rows`;
   * release(p) once its solves are done. Pairs are acquired in increasing order.
   */
  async acquire(p: number, i: number, j: number, rows: Int32Array): Promise<PairKernel> {
    const idx = this.plan.orderIndex.get(p);
    if (idx === undefined || !(await this.allocate())) {
      this.usage.onDemandPairs++;
      return onDemandKernel(this.kernel, rows, this.cacheBytes);
    }
    this.usage.precomputedPairs++;
    const here = this.request(idx);
    // Compute the next precomputed pair ahead while this one is solved (needs a free slot).
    if (this.worker && this.nextPrefetch < this.plan.order.length && this.freeSlots.length > 0) void this.request(this.nextPrefetch);
    await here;
    return fullKernel(this.pairLayout(idx, i, j), this.classRows[i]!.length + this.classRows[j]!.length);
  }

  /** Pair p's solves are done: its cross-block slot can be reused. */
  release(p: number): void {
    const idx = this.plan.orderIndex.get(p);
    if (idx === undefined) return;
    const slot = this.slotOf.get(idx);
    if (slot === undefined) return;
    this.slotOf.delete(idx);
    this.crossReq.delete(idx);
    this.freeSlots.push(slot);
  }

  /** Stops the product worker and frees the blocks. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    this.worker = null;
    this.K = null;
    await w?.close();
  }

  /** The blocks array (shared when the platform allows), or null when the plan is too large or memory runs out. */
  private allocateBlocks(): Float32Array | null {
    const { order, total } = this.plan;
    // Offsets are int32; and the blocks may take at most a quarter of the machine's memory.
    if (order.length === 0 || total > 0x7fffffff || total * 4 > os.totalmem() / 4) return null;
    try {
      return new Float32Array(new SharedArrayBuffer(total * 4));
    } catch {
      try {
        return new Float32Array(total);
      } catch {
        return null; // out of memory: rows on demand instead
      }
    }
  }

  /** The layout of precomputed pair idx (classes i, j): row starts of its left (class i) and right (class j) parts. */
  private pairLayout(idx: number, i: number, j: number): PairLayout {
    const { classOff } = this.plan;
    const ni = this.classRows[i]!.length;
    const nj = this.classRows[j]!.length;
    const l = ni + nj;
    const { off, offT } = this.slotOffsets(this.slotOf.get(idx)!);
    const rowL = new Int32Array(l);
    const rowR = new Int32Array(l);
    for (let r = 0; r < ni; r++) {
      rowL[r] = classOff[i]! + r * ni;
      rowR[r] = off + r * nj - ni;
    }
    for (let r = 0; r < nj; r++) {
      rowL[ni + r] = offT + r * ni;
      rowR[ni + r] = classOff[j]! + r * nj - ni;
    }
    return { K: this.K!, split: ni, rowL, rowR };
  }

  private slotOffsets(slot: number): { off: number; offT: number } {
    const off = this.plan.crossBase + slot * 2 * this.plan.cross;
    return { off, offT: off + this.plan.cross };
  }

  /** Requests (once) everything precomputed pair idx reads: both class blocks and its cross block. */
  private request(idx: number): Promise<void> {
    const [i, j] = this.plan.pairOf[idx]!;
    const need: Promise<void>[] = [];
    for (const c of [i, j]) {
      this.classReq[c] ??= this.product(this.classRows[c]!, this.classRows[c]!, this.plan.classOff[c]!);
      need.push(this.classReq[c]!);
    }
    need.push(this.requestCross(idx, i, j));
    return Promise.all(need).then(() => undefined);
  }

  /** The cross block K(i, j) (and its transpose) of precomputed pair idx, in a slot taken for it. */
  private requestCross(idx: number, i: number, j: number): Promise<void> {
    let cr = this.crossReq.get(idx);
    if (cr) return cr;
    const slot = this.freeSlots.shift();
    if (slot === undefined) throw new LabError('internal', 'SVC: no free kernel slot for a class pair.');
    this.slotOf.set(idx, slot);
    const { off, offT } = this.slotOffsets(slot);
    cr = this.product(this.classRows[i]!, this.classRows[j]!, off, offT);
    this.crossReq.set(idx, cr);
    this.nextPrefetch = Math.max(this.nextPrefetch, idx + 1);
    return cr;
  }

  /** K(rowsA, rowsB) into the blocks at `off` (and its transpose at `offT`): worker, else here. */
  private async product(rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): Promise<void> {
    if (await this.productOnWorker(rowsA, rowsB, off, offT)) {
      this.usage.workerOnnxBlocks++;
      return;
    }
    const K = this.K;
    if (!K || this.disposed) return;
    const kernel = this.kernel;
    if (this.onnx && (await rbfRowsOnnx(kernel.X, kernel.sq, rowsA, rowsB, kernel.gamma, K, off, offT === undefined ? undefined : K, offT))) {
      this.usage.onnxBlocks++;
      return;
    }
    this.onnx = false;
    this.usage.jsBlocks++;
    this.productJs(K, rowsA, rowsB, off, offT);
  }

  /**
   * The product on the block worker: true when done there (or when disposed meanwhile: nothing more to
   * do). A worker that fails is closed and the products run here from then on.
   */
  private async productOnWorker(rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): Promise<boolean> {
    if (!this.worker) return false;
    try {
      await this.worker.product(rowsA, rowsB, off, offT);
      return true;
    } catch {
      if (this.disposed) return true;
      void this.worker?.close();
      this.worker = null;
      return false;
    }
  }

  /** The product in JavaScript (double-accumulated), when onnxruntime is unavailable. */
  private productJs(K: Float32Array, rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): void {
    const kernel = this.kernel;
    const pick = (rows: Int32Array): Matrix => {
      const sub = matrix(rows.length, kernel.X.cols);
      rows.forEach((r, t) => sub.data.set(kernel.X.data.subarray(r * sub.cols, (r + 1) * sub.cols), t * sub.cols));
      return sub;
    };
    const m = rowsA.length;
    const n = rowsB.length;
    const A = pick(rowsA);
    const B = rowsB === rowsA ? A : pick(rowsB);
    rbfCross(A, Float64Array.from(rowsA, (r) => kernel.sq[r]!), B, Float64Array.from(rowsB, (r) => kernel.sq[r]!), kernel.gamma, K.subarray(off, off + m * n));
    if (offT !== undefined) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) K[offT + c * m + r] = K[off + r * n + c]!;
  }
}

/** Does the kernel matrix of classes i and j fit the cache budget? */
function pairFits(classRows: Int32Array[], i: number, j: number, cacheBytes: number): boolean {
  return (classRows[i]!.length + classRows[j]!.length) ** 2 * 4 <= cacheBytes;
}

/** Kernel values of all class pairs precomputed under the budget (the work that parallel solving splits). */
export function pairEntries(classRows: Int32Array[], cacheBytes: number): number {
  let n = 0;
  for (let i = 0; i < classRows.length; i++) {
    for (let j = i + 1; j < classRows.length; j++) {
      if (pairFits(classRows, i, j, cacheBytes)) n += (classRows[i]!.length + classRows[j]!.length) ** 2;
    }
  }
  return n;
}

/** Kernel access through a precomputed pair kernel. */
function fullKernel(layout: PairLayout, l: number): PairKernel {
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

/** Kernel rows computed on demand through libsvm's row cache (pairs too large for the budget). */
function onDemandKernel(kernel: RbfKernel, rows: Int32Array, cacheBytes: number): PairKernel {
  return {
    l: rows.length,
    full: false,
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
