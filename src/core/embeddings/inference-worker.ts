import { FLOAT16_SRC } from './float16';

/**
 * Source of the inference worker thread. onnxruntime-node's run() is a synchronous native call that
 * blocks its thread, so the session lives in a worker: the caller's thread stays free to decode and
 * preprocess the next batch meanwhile. Kept as plain CommonJS text (run with `eval: true`) so it works
 * the same under tsx, vitest and a bundled build; onnxruntime-node is loaded by absolute path.
 */
export const INFERENCE_WORKER_SRC = `
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
${FLOAT16_SRC}
let session = null;
let cfg = null;
let modelBytes = null;
parentPort.on('message', async (m) => {
  if (m.type === 'init') {
    try {
      if (session) { await session.release(); session = null; }
      cfg = m;
      // A fused model arrives as bytes once (transferred) and is kept until a provider accepts it.
      if (m.modelBytes) modelBytes = m.modelBytes;
      session = await ort.InferenceSession.create(m.modelPath || modelBytes, {
        executionProviders: [m.provider],
        graphOptimizationLevel: 'all',
      });
      modelBytes = null;
      parentPort.postMessage({ type: 'init', ok: true });
    } catch (e) {
      parentPort.postMessage({ type: 'init', ok: false, error: String((e && e.message) || e) });
    }
  } else if (m.type === 'run') {
    try {
      const dims = [m.n, ...cfg.itemDims];
      const input = cfg.inputType === 'uint8'
        ? new ort.Tensor('uint8', m.data, dims)
        : cfg.inputType === 'float16'
        ? new ort.Tensor('float16', f32ToF16(m.data), dims)
        : new ort.Tensor('float32', m.data, dims);
      const res = await session.run({ [cfg.inputName]: input }, [cfg.outputName]);
      const t = res[cfg.outputName];
      const raw = t.type === 'float16' ? f16ToF32(t.data) : t.data;
      const D = cfg.dim;
      const out = new Float32Array(m.n * D);
      if (cfg.outputKind === 'cls') {
        const T = t.dims[1];
        for (let i = 0; i < m.n; i++) out.set(raw.subarray(i * T * D, i * T * D + D), i * D);
      } else {
        if (raw.length !== m.n * D) throw new Error('output ' + cfg.outputName + ' has shape [' + t.dims.join(', ') + '], expected [' + m.n + ', ' + D + ']');
        out.set(raw);
      }
      if (typeof t.dispose === 'function') t.dispose();
      parentPort.postMessage({ type: 'run', id: m.id, out }, [out.buffer]);
    } catch (e) {
      parentPort.postMessage({ type: 'run', id: m.id, error: String((e && e.message) || e) });
    }
  } else if (m.type === 'close') {
    try { if (session) await session.release(); } catch {}
    session = null;
    modelBytes = null;
    parentPort.postMessage({ type: 'closed' });
  }
});
`;
