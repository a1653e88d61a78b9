/**
 * RBF kernel blocks through onnxruntime's CPU matrix product (MLAS: SIMD and all cores), which is an
 * order of magnitude faster per flop than a JavaScript loop. The graph (built with onnx-writer):
 * K = exp(-gamma * (|a|^2 + |b|^2 - 2 A B^T)).
 */
import type { Worker } from 'node:worker_threads';
import { encodeModel, OnnxType, type ValueInfo } from '../backbones/onnx-writer';
import type { Matrix } from './types';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

let ortPromise: Promise<Ort | null> | null = null;
let sessionPromise: Promise<Session | null> | null = null;

function loadOrt(): Promise<Ort | null> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort,
    () => null,
  );
  return ortPromise;
}

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

/** Kernel values per onnxruntime call when a block is computed in row chunks (about 4 MB per intermediate). */
const CHUNK_VALUES = 1 << 20;

/** The rows `rows` of X as one contiguous matrix, with their squared norms as float32. */
function gather(X: Matrix, sq: Float64Array, rows: Int32Array): { M: Matrix; n: Float32Array } {
  const d = X.cols;
  const sub = new Float32Array(rows.length * d);
  const n = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    sub.set(X.data.subarray(r * d, (r + 1) * d), i * d);
    n[i] = sq[r]!;
  }
  return { M: { rows: rows.length, cols: d, data: sub }, n };
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
  const a = gather(X, sq, rowsA);
  const b = rowsB === rowsA ? a : gather(X, sq, rowsB);
  const m = rowsA.length;
  const n = rowsB.length;
  const d = X.cols;
  const B = new ort.Tensor('float32', b.M.data, [n, d]);
  const sqB = new ort.Tensor('float32', b.n, [1, n]);
  const negGamma = new ort.Tensor('float32', Float32Array.of(-gamma), [1]);
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / Math.max(1, n)));
  for (let r0 = 0; r0 < m; r0 += chunk) {
    const nr = Math.min(chunk, m - r0);
    const res = await s.run({
      A: new ort.Tensor('float32', a.M.data.subarray(r0 * d, (r0 + nr) * d), [nr, d]),
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
 * Writes the nr x n chunk K transposed: K[r][c] to out[off + c * stride + r] (16-column tiles). The block
 * worker runs this very function (its source text is put into the worker's), so it must stay self-contained.
 */
function transposeChunk(K: Float32Array, nr: number, n: number, out: Float32Array, off: number, stride: number): void {
  for (let c0 = 0; c0 < n; c0 += 16) {
    const c1 = Math.min(n, c0 + 16);
    for (let r = 0; r < nr; r++) {
      const src = r * n;
      const dst = off + r;
      for (let c = c0; c < c1; c++) out[dst + c * stride] = K[src + c]!;
    }
  }
}

/**
 * Source of the block worker (plain CommonJS text run with `eval: true`, so it works the same under
 * tsx, vitest and a bundled build; onnxruntime-node is loaded by absolute path). It computes RBF
 * blocks K(rowsA, rowsB) of the training matrix through a single-threaded onnxruntime session straight
 * into a SharedArrayBuffer, while the caller's thread runs the SMO solver on the blocks already done.
 */
const BLOCK_WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const CHUNK = ${CHUNK_VALUES};
let session = null;
let X = null, sq = null, d = 0, negGamma = null, K = null, stop = new Int32Array(1);
const transposeChunk = ${transposeChunk.toString()};
function gather(rows) {
  const sub = new Float32Array(rows.length * d);
  const n = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    sub.set(X.subarray(r * d, (r + 1) * d), i * d);
    n[i] = sq[r];
  }
  return { data: sub, n };
}
async function product(m) {
  const a = gather(m.rowsA);
  const b = m.same ? a : gather(m.rowsB);
  const rows = m.rowsA.length, cols = m.rowsB.length;
  const B = new ort.Tensor('float32', b.data, [cols, d]);
  const sqB = new ort.Tensor('float32', b.n, [1, cols]);
  const chunk = Math.max(1, Math.floor(CHUNK / Math.max(1, cols)));
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    if (Atomics.load(stop, 0)) throw new Error('block worker closed'); // the block stays incomplete
    const nr = Math.min(chunk, rows - r0);
    const res = await session.run({
      A: new ort.Tensor('float32', a.data.subarray(r0 * d, (r0 + nr) * d), [nr, d]),
      B,
      sqA: new ort.Tensor('float32', a.n.subarray(r0, r0 + nr), [nr, 1]),
      sqB,
      negGamma,
    });
    const out = res.K.data;
    K.set(out, m.off + r0 * cols);
    if (m.offT >= 0) transposeChunk(out, nr, cols, K, m.offT + r0, rows);
  }
}
async function handle(m) {
  try {
    if (m.type === 'init') {
      session = await ort.InferenceSession.create(workerData.model, {
        executionProviders: ['cpu'], graphOptimizationLevel: 'all', intraOpNumThreads: 1, interOpNumThreads: 1,
      });
      X = m.X; sq = m.sq; d = m.d; K = m.K; stop = m.stop;
      negGamma = new ort.Tensor('float32', Float32Array.of(-m.gamma), [1]);
    } else if (m.type === 'close') {
      // Release the session before the thread ends: terminating a thread that still holds
      // onnxruntime objects can abort the whole process.
      const s = session;
      session = null;
      if (s) await s.release();
    } else await product(m);
    parentPort.postMessage({ id: m.id, ok: true });
  } catch (e) {
    parentPort.postMessage({ id: m.id, ok: false, error: String((e && e.message) || e) });
  }
}
let queue = Promise.resolve();
parentPort.on('message', (m) => { queue = queue.then(() => handle(m)); });
`;

/**
 * A worker thread computing RBF blocks of one training matrix into a shared Float32Array (see
 * BLOCK_WORKER_SRC). Requests run in order; each resolves when its block is written, or rejects.
 */
export class BlockWorker {
  private readonly pending = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private dead: Error | null = null;
  /** Set to 1 when closing: the worker drops the blocks still queued. */
  private readonly stop = new Int32Array(new SharedArrayBuffer(4));
  private closing: Promise<void> | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; error?: string }) => {
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
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('block worker exited')));
    worker.unref();
  }

  /** Starts a worker over X (copied once), or null when onnxruntime-node or threads are unavailable. */
  static async start(X: Matrix, sq: Float64Array, gamma: number, K: Float32Array): Promise<BlockWorker | null> {
    if (!(K.buffer instanceof SharedArrayBuffer) || !(await loadOrt())) return null;
    let bw: BlockWorker | null = null;
    try {
      const { Worker } = await import('node:worker_threads');
      const { createRequire } = await import('node:module');
      const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
      bw = new BlockWorker(new Worker(BLOCK_WORKER_SRC, { eval: true, workerData: { ortPath, model: rbfModelBytes() } }));
      await bw.send({ type: 'init', X: X.data, sq: Float32Array.from(sq), d: X.cols, gamma, K, stop: bw.stop });
      return bw;
    } catch {
      await bw?.close();
      return null;
    }
  }

  /** K(rowsA, rowsB) written row-major into the shared array at off (and transposed at offT when given). */
  product(rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): Promise<void> {
    return this.send({ type: 'block', rowsA, rowsB, same: rowsA === rowsB, off, offT: offT ?? -1 });
  }

  /**
   * Stops the worker: queued blocks are dropped, the block being computed stops after its chunk, the
   * session is released in the worker, then the thread ends. Pending requests reject.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      Atomics.store(this.stop, 0, 1);
      if (!this.dead) {
        try {
          await this.send({ type: 'close' });
        } catch {
          // The thread is gone already.
        }
      }
      this.dead ??= new Error('block worker closed');
      for (const p of this.pending.values()) p.reject(this.dead);
      this.pending.clear();
      await this.worker.terminate();
    })();
    return this.closing;
  }

  private send(m: Record<string, unknown>): Promise<void> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Referenced only while a request is pending: an idle worker never keeps the process alive.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
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
