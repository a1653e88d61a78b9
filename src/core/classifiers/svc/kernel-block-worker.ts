/**
 * Entry of the SVC's block worker thread (see BlockWorker in kernel-onnx.ts): computes RBF blocks
 * K(rowsA, rowsB) of the training matrix (each request brings its rows, gathered by the caller: the
 * worker holds no copy of the matrix) through a single-threaded onnxruntime session straight into a
 * SharedArrayBuffer, while the caller's thread runs the SMO solver on the blocks already done.
 */
import ort from 'onnxruntime-node';
import { parentPort, workerData } from 'node:worker_threads';
import { CHUNK_VALUES, transposeChunk, type BlockReply, type BlockRequest, type BlockWorkerData } from './kernel-blocks';

type InitRequest = Extract<BlockRequest, { type: 'init' }>;
type ProductRequest = Extract<BlockRequest, { type: 'block' }>;

interface State {
  session: ort.InferenceSession;
  d: number;
  negGamma: ort.Tensor;
  K: Float32Array;
  stop: Int32Array;
}

const port = parentPort!;
const { model } = workerData as BlockWorkerData;
let state: State | null = null;

async function init(m: InitRequest): Promise<void> {
  const session = await ort.InferenceSession.create(model, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
  });
  state = { session, d: m.d, K: m.K, stop: m.stop, negGamma: new ort.Tensor('float32', Float32Array.of(-m.gamma), [1]) };
}

async function product(m: ProductRequest): Promise<void> {
  const s = state;
  if (!s) throw new Error('block worker not initialised');
  const { d } = s;
  const a = { data: m.a, n: m.an };
  const b = m.b && m.bn ? { data: m.b, n: m.bn } : a;
  const rows = a.n.length;
  const cols = b.n.length;
  const B = new ort.Tensor('float32', b.data, [cols, d]);
  const sqB = new ort.Tensor('float32', b.n, [1, cols]);
  const chunk = Math.max(1, Math.floor(CHUNK_VALUES / Math.max(1, cols)));
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    if (Atomics.load(s.stop, 0)) throw new Error('block worker closed'); // the block stays incomplete
    const nr = Math.min(chunk, rows - r0);
    const res = await s.session.run({
      A: new ort.Tensor('float32', a.data.subarray(r0 * d, (r0 + nr) * d), [nr, d]),
      B,
      sqA: new ort.Tensor('float32', a.n.subarray(r0, r0 + nr), [nr, 1]),
      sqB,
      negGamma: s.negGamma,
    });
    const out = res.K!.data as Float32Array;
    s.K.set(out, m.off + r0 * cols);
    if (m.offT >= 0) transposeChunk(out, nr, cols, s.K, m.offT + r0, rows);
  }
}

/** Releases the session before the thread ends: terminating a thread that still holds onnxruntime objects can abort the whole process. */
async function close(): Promise<void> {
  const s = state;
  state = null;
  if (s) await s.session.release();
}

async function handle(m: BlockRequest): Promise<void> {
  let reply: BlockReply;
  try {
    if (m.type === 'init') await init(m);
    else if (m.type === 'close') await close();
    else await product(m);
    reply = { id: m.id, ok: true };
  } catch (e) {
    reply = { id: m.id, ok: false, error: String((e as Error | undefined)?.message ?? e) };
  }
  port.postMessage(reply);
}

// Requests run one after another, in the order they came.
let queue = Promise.resolve();
port.on('message', (m: BlockRequest) => {
  queue = queue.then(() => handle(m));
});
