/**
 * The SVC's kernel memory: per class pair, either a kernel matrix precomputed into one shared array of
 * blocks, or kernel rows computed on demand through libsvm's row cache.
 */
import os from 'node:os';
import { LabError } from '../../errors';
import { matrix, type Matrix } from '../../math/matrix';
import type { PairLayout } from './kernel-full-q';
import { BlockWorker, rbfRowsOnnx } from './kernel-onnx';
import { pairFits, planBlocks, type BlockPlan } from './kernel-plan';
import { rbfCross, type RbfKernel } from './kernel-rbf';
import { fullKernel, onDemandKernel, type PairKernel } from './pair-kernel';

/** A precomputed pair given its slots: its cross block's and transpose's slots, and when all its blocks are written. */
interface Grant {
  cross: number;
  crossT: number;
  ready: Promise<void>;
}

/**
 * Kernel access per class pair. When a pair's kernel matrix fits the cache budget ((n_a + n_b)^2
 * floats) it is precomputed from per-class blocks: K(c, c), shared by the class's pairs, and per pair
 * the cross block K(a, b) and its transpose (written while each chunk is in cache), read in place
 * through a PairLayout; no pair matrix is assembled. The products run in a worker thread (onnxruntime,
 * one thread) into a SharedArrayBuffer, one pair ahead of the solvers: while pairs are solved, the
 * blocks of the next pair are computed. Without the worker they run here, through onnxruntime when
 * present, else in JavaScript.
 *
 * Memory: all blocks live in one array of equal slots (see planBlocks) of at most cacheMb in all.
 * Pairs are given their slots in fit order, all at once: a pair's class blocks that are not held and two
 * cross slots, taken from free slots, else by evicting the least recently used class block that no
 * pair holding slots needs (it is recomputed when a later pair needs it again: one matrix product, cheap
 * next to the pair's SMO solves). A pair waits until its slots are free. So with a budget holding every
 * class block and lanes + 1 cross slots (50,000 rows in ten balanced classes, two lanes: 1.6 GB) nothing
 * is recomputed; at the default 512 MB (five 95 MiB slots at 5,000 rows per class) one pair is solved at a
 * time with its next class block ahead, and class blocks are recomputed; above four slots of the largest
 * class, pairs are solved with kernel rows computed on demand through libsvm's row cache. If the blocks
 * would exceed a quarter of the machine's memory, every pair goes on demand.
 */
export class PairKernels {
  private K: Float32Array | null = null;
  private worker: BlockWorker | null = null;
  private disposed = false;
  private readonly plan: BlockPlan;
  /** Class c's slot (-1 when not held) and the request writing its block. */
  private readonly classSlot: Int32Array;
  private readonly classReq: (Promise<void> | null)[];
  /** Pairs holding slots that read class c's block. */
  private readonly classPins: Int32Array;
  /** 1 while class c's block is being written. */
  private readonly writing: Uint8Array;
  /** Held class blocks that no pair holding slots reads, least recently used first: evicted in that order. */
  private readonly lru = new Set<number>();
  private readonly freeSlots: number[] = [];
  private readonly granted = new Map<number, Grant>();
  private readonly waiters: (() => void)[] = [];
  /** The next precomputed pair to be given slots (in order), and the highest one a lane asked for. */
  private nextGrant = 0;
  private demanded = -1;
  private onnx = true;
  /**
   * How the kernels really ran, for the record: block products by engine, pairs by kind, class blocks
   * computed (more than the classes when recomputed after eviction), evictions, the slots and the floats
   * of the blocks array (<= cacheMb / 4 bytes).
   */
  readonly usage = {
    workerOnnxBlocks: 0,
    onnxBlocks: 0,
    jsBlocks: 0,
    precomputedPairs: 0,
    onDemandPairs: 0,
    classBlocks: 0,
    crossBlocks: 0,
    evictions: 0,
    slots: 0,
    blockFloats: 0,
  };

  constructor(
    private readonly kernel: RbfKernel,
    /** Training rows of each present class, in class order. */
    private readonly classRows: Int32Array[],
    private readonly cacheBytes: number,
    /** Pairs being solved at once; one more cross slot holds the pair computed ahead. */
    private readonly lanes: number,
  ) {
    this.plan = planBlocks(classRows, cacheBytes, lanes);
    const k = classRows.length;
    this.classSlot = new Int32Array(k).fill(-1);
    this.classReq = new Array<Promise<void> | null>(k).fill(null);
    this.classPins = new Int32Array(k);
    this.writing = new Uint8Array(k);
    for (let s = this.plan.slots - 1; s >= 0; s--) this.freeSlots.push(s);
  }

  /**
   * Whether two precomputed pairs fit the slots at once (two sharing a class: three class blocks and two
   * cross slots); if not, one pair is solved at a time and its solves are what runs in parallel.
   */
  get pairsAtOnce(): number {
    return this.plan.slots >= 7 ? 2 : 1;
  }

  /** Allocates the shared blocks array and starts the product worker; null when no pair is precomputed. */
  async allocate(): Promise<Float32Array | null> {
    if (this.K) return this.K;
    const K = this.allocateBlocks();
    if (!K) return null;
    this.K = K;
    this.usage.slots = this.plan.slots;
    this.usage.blockFloats = K.length;
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
    const l = this.classRows[i]!.length + this.classRows[j]!.length;
    if (idx === undefined || !(await this.allocate())) {
      this.usage.onDemandPairs++;
      // A pair that fits the budget counts as full for Platt's folds however its kernel is held.
      return onDemandKernel(this.kernel, rows, this.cacheBytes, pairFits(this.classRows, i, j, this.cacheBytes));
    }
    this.usage.precomputedPairs++;
    this.demanded = Math.max(this.demanded, idx);
    this.pump();
    let g = this.granted.get(idx);
    while (!g) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.disposed) throw new LabError('internal', 'SVC: kernel blocks released while a class pair waited.');
      g = this.granted.get(idx);
    }
    await g.ready;
    return fullKernel(this.pairLayout(i, j, g), l);
  }

  /** Pair p's solves are done: its cross slots are freed, its class blocks may be evicted. */
  release(p: number): void {
    const idx = this.plan.orderIndex.get(p);
    if (idx === undefined) return;
    const g = this.granted.get(idx);
    if (!g) return;
    this.granted.delete(idx);
    this.freeSlots.push(g.cross, g.crossT);
    for (const c of this.plan.pairOf[idx]!) {
      if (--this.classPins[c]! === 0) this.lru.add(c);
    }
    this.pump();
    this.wake();
  }

  /** Stops the product worker and frees the blocks. */
  async dispose(): Promise<void> {
    this.disposed = true;
    this.wake();
    const w = this.worker;
    this.worker = null;
    this.K = null;
    await w?.close();
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /**
   * Gives slots to the next pairs in order, up to the highest asked for (plus one ahead when the block
   * worker computes ahead), while they fit. When the pair ahead does not fit yet, its class blocks are
   * computed ahead into free slots (without evicting), so that only its cross block is left to wait for.
   */
  private pump(): void {
    const ahead = this.worker ? 1 : 0;
    while (this.nextGrant < this.plan.order.length && this.nextGrant <= this.demanded + ahead && this.fits(this.nextGrant)) {
      this.grant(this.nextGrant++);
    }
    const idx = this.nextGrant;
    if (!this.worker || idx >= this.plan.order.length || idx > this.demanded + ahead) return;
    for (const c of this.plan.pairOf[idx]!) {
      // Only into free slots: the pair's cross slots come from the pair released before it.
      if (this.classSlot[c]! >= 0 || this.freeSlots.length < 1) continue;
      const s = this.freeSlots.pop()!;
      this.classSlot[c] = s;
      this.usage.classBlocks++;
      this.classReq[c] = this.classProduct(c, s);
      this.lru.add(c);
    }
  }

  /** Class c's block into slot s; while it is being written the block is not evicted. */
  private classProduct(c: number, s: number): Promise<void> {
    this.writing[c] = 1;
    const rows = this.classRows[c]!;
    return this.product(rows, rows, s * this.plan.slot).finally(() => {
      this.writing[c] = 0;
      // A pair may have waited for this block's slot to become evictable.
      if (!this.disposed && this.waiters.length > 0) {
        this.pump();
        this.wake();
      }
    });
  }

  /** Can pair idx get its slots now: free ones, or held class blocks no pair needs (not its own, not being written)? */
  private fits(idx: number): boolean {
    const pair = this.plan.pairOf[idx]!;
    let need = 2;
    for (const c of pair) if (this.classSlot[c]! < 0) need++;
    let spare = this.freeSlots.length;
    for (const c of this.lru) if (c !== pair[0] && c !== pair[1] && !this.writing[c]) spare++;
    return need <= spare;
  }

  /** Gives pair idx its slots and requests its blocks (class blocks not held, its cross block). */
  private grant(idx: number): void {
    const [i, j] = this.plan.pairOf[idx]!;
    const S = this.plan.slot;
    // Pin the pair's held class blocks first, so that taking slots for the others cannot evict them.
    for (const c of [i, j]) {
      if (this.classSlot[c]! >= 0) this.lru.delete(c);
      this.classPins[c]!++;
    }
    const need: Promise<void>[] = [];
    for (const c of [i, j]) {
      if (this.classSlot[c]! < 0) {
        const s = this.takeSlot();
        this.classSlot[c] = s;
        this.usage.classBlocks++;
        this.classReq[c] = this.classProduct(c, s);
      }
      need.push(this.classReq[c]!);
    }
    const cross = this.takeSlot();
    const crossT = this.takeSlot();
    this.usage.crossBlocks++;
    need.push(this.product(this.classRows[i]!, this.classRows[j]!, cross * S, crossT * S));
    this.granted.set(idx, { cross, crossT, ready: Promise.all(need).then(() => undefined) });
  }

  /** A free slot, else the slot of the least recently used class block no granted pair reads. */
  private takeSlot(): number {
    const s = this.freeSlots.pop();
    if (s !== undefined) return s;
    for (const c of this.lru) {
      if (this.writing[c]) continue;
      this.lru.delete(c);
      const slot = this.classSlot[c]!;
      this.classSlot[c] = -1;
      this.classReq[c] = null;
      this.usage.evictions++;
      return slot;
    }
    throw new LabError('internal', 'SVC: no free kernel slot for a class pair.');
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
  private pairLayout(i: number, j: number, g: Grant): PairLayout {
    const S = this.plan.slot;
    const ni = this.classRows[i]!.length;
    const nj = this.classRows[j]!.length;
    const l = ni + nj;
    const offI = this.classSlot[i]! * S;
    const offJ = this.classSlot[j]! * S;
    const off = g.cross * S;
    const offT = g.crossT * S;
    const rowL = new Int32Array(l);
    const rowR = new Int32Array(l);
    for (let r = 0; r < ni; r++) {
      rowL[r] = offI + r * ni;
      rowR[r] = off + r * nj - ni;
    }
    for (let r = 0; r < nj; r++) {
      rowL[ni + r] = offT + r * ni;
      rowR[ni + r] = offJ + r * nj - ni;
    }
    return { K: this.K!, split: ni, rowL, rowR };
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
