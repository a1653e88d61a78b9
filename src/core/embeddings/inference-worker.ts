/**
 * Entry of the inference worker thread (started by inference-thread.ts through entry.ts, listed in
 * electron.vite.config.ts). onnxruntime-node's run() is a synchronous native call that blocks its
 * thread, so the session lives here: the caller's thread stays free to decode and preprocess the next
 * batch meanwhile.
 */
import { parentPort } from 'node:worker_threads';
import ort from 'onnxruntime-node';
import { f16ToF32, f32ToF16 } from './float16';
import type { FromWorker, SessionConfig, ToWorker } from './inference-messages';

const port = parentPort!;
let session: ort.InferenceSession | null = null;
let cfg: SessionConfig | null = null;
let modelBytes: Uint8Array | null = null;

function reply(m: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(m, transfer);
}

function messageOf(e: unknown): string {
  return String((e as { message?: unknown } | null)?.message || e);
}

async function init(m: Extract<ToWorker, { type: 'init' }>): Promise<void> {
  try {
    if (session) {
      await session.release();
      session = null;
    }
    cfg = m;
    // A fused model arrives as bytes once (transferred) and is kept until a provider accepts it.
    if (m.modelBytes) modelBytes = m.modelBytes;
    const options: ort.InferenceSession.SessionOptions = { executionProviders: [m.provider], graphOptimizationLevel: 'all' };
    session = m.modelPath ? await ort.InferenceSession.create(m.modelPath, options) : await ort.InferenceSession.create(modelBytes!, options);
    modelBytes = null;
    reply({ type: 'init', ok: true });
  } catch (e) {
    reply({ type: 'init', ok: false, error: messageOf(e) });
  }
}

function inputTensor(c: SessionConfig, data: Float32Array | Uint8Array, n: number): ort.Tensor {
  const dims = [n, ...c.itemDims];
  if (c.inputType === 'uint8') return new ort.Tensor('uint8', data as Uint8Array, dims);
  if (c.inputType === 'float16') return new ort.Tensor('float16', f32ToF16(data as Float32Array), dims);
  return new ort.Tensor('float32', data as Float32Array, dims);
}

/** The [n, dim] vectors of an output: token 0 of each item for 'cls', else the whole [n, dim] tensor. */
function vectorsOf(c: SessionConfig, t: ort.Tensor, n: number): Float32Array {
  const raw = t.type === 'float16' ? f16ToF32(t.data as Uint16Array) : (t.data as Float32Array);
  const D = c.dim;
  const out = new Float32Array(n * D);
  if (c.outputKind === 'cls') {
    const T = t.dims[1]!;
    for (let i = 0; i < n; i++) out.set(raw.subarray(i * T * D, i * T * D + D), i * D);
  } else {
    if (raw.length !== n * D) throw new Error('output ' + c.outputName + ' has shape [' + t.dims.join(', ') + '], expected [' + n + ', ' + D + ']');
    out.set(raw);
  }
  return out;
}

async function run(m: Extract<ToWorker, { type: 'run' }>): Promise<void> {
  try {
    const c = cfg!;
    const res = await session!.run({ [c.inputName]: inputTensor(c, m.data, m.n) }, [c.outputName]);
    const t = res[c.outputName]!;
    const out = vectorsOf(c, t, m.n);
    t.dispose();
    reply({ type: 'run', id: m.id, out }, [out.buffer as ArrayBuffer]);
  } catch (e) {
    reply({ type: 'run', id: m.id, error: messageOf(e) });
  }
}

async function close(): Promise<void> {
  try {
    if (session) await session.release();
  } catch {}
  session = null;
  modelBytes = null;
  reply({ type: 'closed' });
}

port.on('message', (m: ToWorker) => {
  if (m.type === 'init') void init(m);
  else if (m.type === 'run') void run(m);
  else if (m.type === 'close') void close();
});
