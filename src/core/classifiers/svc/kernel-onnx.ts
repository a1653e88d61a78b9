/**
 * RBF kernel blocks through onnxruntime's CPU matrix product (MLAS: SIMD and all cores), which is an
 * order of magnitude faster per flop than a JavaScript loop. The graph (built with onnx-writer):
 * K = exp(-gamma * (|a|^2 + |b|^2 - 2 A B^T)).
 */
import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../entry';
import type { Matrix } from '../../math/matrix';
import { encodeModel, OnnxType, type ValueInfo } from '../../onnx/onnx-writer';
import { loadOrt } from '../../onnx/ort';
import { CHUNK_VALUES, gatherRows, transposeChunk, type BlockReply, type BlockRequest, type BlockWorkerData } from './kernel-blocks';

type Session = import('onnxruntime-node').InferenceSession;

/** A request to the block worker, before its id is assigned. */
type Request = BlockRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

let sessionPromise: Promise<Session | null> | null = null;

/** The onnxruntime session computing RBF blocks, or null when onnxruntime-node cannot be loaded. */
function session(): Promise<Session | null> {
  sessionPromise ??= loadOrt().then(async (ort) => {
    if (!ort) return null;
    try {
      return await ort.InferenceSession.create(rbfModelBytes(), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    } catch {
      return null;
    }
  });
  return sessionPromise;
}

/**
 * K[i * B.rows + j] = exp(-gamma ||A_i - B_j||^2), or null when onnxruntime is unavailable (the caller
 * then falls back to JavaScript). sqA / sqB are the rows' squared norms.
 */
export async function rbfOnnx(A: Matrix, sqA: Float64Array, B: Matrix, sqB: Float64Array, gamma: number): Promise<Float32Array | null> {
  const s = await session();
  const ort = await loadOrt();
  if (!s || !ort) return null;
  const out = await s.run({
    A: new ort.Tensor('float32', A.data, [A.rows, A.cols]),
    B: new ort.Tensor('float32', B.data, [B.rows, B.cols]),
    sqA: new ort.Tensor('float32', Float32Array.from(sqA), [A.rows, 1]),
    sqB: new ort.Tensor('float32', Float32Array.from(sqB), [1, B.rows]),
    negGamma: new ort.Tensor('float32', Float32Array.of(-gamma), [1]),
  });
  return out.K!.data as Float32Array;
}

/**
 * K(rowsA, rowsB) for subsets of X's rows through onnxruntime, written row-major (rowsA.length x
 * rowsB.length) into out from outOffset, and when outT is given its transpose into outT from
 * outTOffset. Returns false when onnxruntime is unavailable. Computed in chunks of rowsA so that the
 * graph's intermediates stay cache-sized (one call over a 10,000 x 10,000 block runs several times
 * slower per value than chunks), and each chunk is transposed while it is still in cache.
 */
export async function rbfRowsOnnx(
  X: Matrix,
  sq: Float64Array,
  rowsA: Int32Array,
  rowsB: Int32Array,
  gamma: number,
  out: Float32Array,
  outOffset: number,
  outT?: Float32Array,
  outTOffset = 0,
): Promise<boolean> {
  const s = await session();
  const ort = await loadOrt();
  if (!s || !ort) return false;
  const a = gatherRows(X.data, X.cols, sq, rowsA);
  const b = rowsB === rowsA ? a : gatherRows(X.data, X.cols, sq, rowsB);
  const m = rowsA.length;
  const n = rowsB.length;
  const d = X.cols;
  const B = new ort.Tensor('float32', b.data, [n, d]);
  const sqB = new ort.Tensor('float32', b.n, [1, n]);
  const negGamma = new ort.Tensor('float32', Float32Array.of(-gamma), [1]);
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / Math.max(1, n)));
  for (let r0 = 0; r0 < m; r0 += chunk) {
    const nr = Math.min(chunk, m - r0);
    const res = await s.run({
      A: new ort.Tensor('float32', a.data.subarray(r0 * d, (r0 + nr) * d), [nr, d]),
      B,
      sqA: new ort.Tensor('float32', a.n.subarray(r0, r0 + nr), [nr, 1]),
      sqB,
      negGamma,
    });
    const K = res.K!.data as Float32Array;
    out.set(K, outOffset + r0 * n);
    if (outT) transposeChunk(K, nr, n, outT, outTOffset + r0, m);
  }
  return true;
}

/**
 * A worker thread (kernel-block-worker.ts) computing RBF blocks of one training matrix into a shared
 * Float32Array through its own single-threaded onnxruntime session. Requests run in order; each resolves
 * when its block is written, or rejects. The worker holds no copy of the matrix: one block at a time is
 * sent, its rows gathered here just before and transferred (at 50,000 x 3,072 a copy would be 586 MiB; a
 * 5,000-row block's rows are 59 MiB).
 */
export class BlockWorker {
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  /** Blocks not yet sent to the worker (one is sent at a time). */
  private readonly queued: { rowsA: Int32Array; rowsB: Int32Array; off: number; offT: number; resolve: () => void; reject: (e: Error) => void }[] = [];
  private sending = false;
  private nextId = 0;
  private dead: Error | null = null;
  /** Set to 1 when closing: the worker drops the blocks still queued. */
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  private closing: Promise<void> | null = null;

  private constructor(
    private readonly worker: Worker,
    private readonly X: Matrix,
    private readonly sq: Float64Array,
  ) {
    worker.on('message', (m: BlockReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve();
      else p.reject(new Error(m.error ?? 'block worker failed'));
    });
    const fail = (e: Error): void => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      for (const q of this.queued.splice(0)) q.reject(e);
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('block worker exited')));
    worker.unref();
  }

  /** Starts a worker for X's blocks, or null when onnxruntime-node or threads are unavailable. */
  static async start(X: Matrix, sq: Float64Array, gamma: number, K: Float32Array): Promise<BlockWorker | null> {
    if (!(K.buffer instanceof SharedArrayBuffer) || !(await loadOrt())) return null;
    let bw: BlockWorker | null = null;
    try {
      const workerData: BlockWorkerData = { model: rbfModelBytes() };
      bw = new BlockWorker(startWorker(import.meta.url, 'kernel-block-worker', { workerData }), X, sq);
      await bw.send({ type: 'init', d: X.cols, gamma, K, stop: bw.stop });
      return bw;
    } catch {
      await bw?.close();
      return null;
    }
  }

  /** K(rowsA, rowsB) written row-major into the shared array at off (and transposed at offT when given). */
  product(rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<void>((resolve, reject) => {
      this.queued.push({ rowsA, rowsB, off, offT: offT ?? -1, resolve, reject });
      this.sendNext();
    });
  }

  /** Sends the next queued block when none is in the worker: its rows gathered now, transferred. */
  private sendNext(): void {
    if (this.sending || this.dead) return;
    const q = this.queued.shift();
    if (!q) return;
    this.sending = true;
    const { X, sq } = this;
    const a = gatherRows(X.data, X.cols, sq, q.rowsA);
    const b = q.rowsB === q.rowsA ? null : gatherRows(X.data, X.cols, sq, q.rowsB);
    const transfer = [a.data.buffer, a.n.buffer, ...(b ? [b.data.buffer, b.n.buffer] : [])];
    this.send({ type: 'block', a: a.data, an: a.n, b: b?.data ?? null, bn: b?.n ?? null, off: q.off, offT: q.offT }, transfer)
      .then(q.resolve, q.reject)
      .finally(() => {
        this.sending = false;
        this.sendNext();
      });
  }

  /**
   * Stops the worker: queued blocks are dropped, the block being computed stops after its chunk, the
   * session is released in the worker, then the thread ends. Pending requests reject.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      Atomics.store(this.stop, 0, 1);
      const closed = new Error('block worker closed');
      for (const q of this.queued.splice(0)) q.reject(closed);
      if (!this.dead) {
        try {
          await this.send({ type: 'close' });
        } catch {
          // The thread is gone already.
        }
      }
      this.dead ??= closed;
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private send(m: Request, transfer: ArrayBuffer[] = []): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Referenced only while a request is pending: an idle worker never keeps the process alive.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id } as BlockRequest, transfer);
    });
  }
}

/** The ONNX model (opset 17) of K = Exp(negGamma * (sqA + sqB - 2 A B^T)). */
export function rbfModelBytes(): Uint8Array {
  const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, type: OnnxType.FLOAT, shape });
  return encodeModel({
    inputs: [f('A', ['M', 'D']), f('B', ['N', 'D']), f('sqA', ['M', 1]), f('sqB', [1, 'N']), f('negGamma', [1])],
    outputs: [f('K', ['M', 'N'])],
    nodes: [
      { op: 'Gemm', inputs: ['A', 'B'], outputs: ['AB'], attrs: { alpha: { f: -2 }, transB: { i: 1 } } },
      { op: 'Add', inputs: ['AB', 'sqA'], outputs: ['T1'] },
      { op: 'Add', inputs: ['T1', 'sqB'], outputs: ['T2'] },
      { op: 'Mul', inputs: ['T2', 'negGamma'], outputs: ['T3'] },
      { op: 'Exp', inputs: ['T3'], outputs: ['K'] },
    ],
    graphName: 'rbf',
    opset: 17,
  });
}
