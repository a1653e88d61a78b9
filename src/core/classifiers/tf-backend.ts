import { createRequire } from 'node:module';
import path from 'node:path';

/** The TensorFlow.js module. */
export type Tf = typeof import('@tensorflow/tfjs');

let initPromise: Promise<{ tf: Tf; backend: string }> | null = null;
let chosen: string | null = null;

async function tryBackend(tf: Tf, name: string): Promise<boolean> {
  try {
    if (!(await tf.setBackend(name))) return false;
    await tf.ready();
    // A backend can register and still fail on first use (missing .wasm, broken native addon).
    tf.tidy(() => tf.matMul(tf.ones([2, 2]), tf.ones([2, 2])).dataSync());
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

async function init(): Promise<{ tf: Tf; backend: string }> {
  const require = createRequire(import.meta.url);
  const tf = (await import('@tensorflow/tfjs')) as Tf;
  // tfjs-node is an optional dependency whose native addon is often missing: importing it throws then.
  try {
    await import('@tensorflow/tfjs-node' as string);
    if (await tryBackend(tf, 'tensorflow')) return { tf, backend: (chosen = 'tensorflow') };
  } catch {
    /* fall through to wasm */
  }
  try {
    const wasm = await import('@tensorflow/tfjs-backend-wasm');
    const dir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    wasm.setWasmPaths(dir + path.sep);
    // The threaded build needs pthread workers that tfjs-backend-wasm 4.x only starts in browsers; under Node
    // it reports WASM_HAS_MULTITHREAD_SUPPORT=false and uses the SIMD build on one thread.
    if (await tryBackend(tf, 'wasm')) {
      const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
      const threads = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
      return { tf, backend: (chosen = `wasm${simd ? '-simd' : ''}${threads ? '-threads' : ''}`) };
    }
  } catch {
    /* fall through to cpu */
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return { tf, backend: (chosen = 'cpu') };
}

/** Loads TensorFlow.js on the best backend present (tfjs-node, else wasm with SIMD, else cpu). Memoised. */
export async function initTf(): Promise<{ tf: Tf; backend: string }> {
  if (!initPromise) {
    // tfjs prints a "install tfjs-node" banner on import in Node; it is noise for our users.
    const g = globalThis as { process?: { env: Record<string, string | undefined> } };
    if (g.process?.env) g.process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
    initPromise = init();
  }
  return initPromise;
}

/** The backend initTf chose ('tensorflow', 'wasm-simd', 'cpu', ...), or null before initTf has finished. */
export function tfBackendName(): string | null {
  return chosen;
}

/** The backend a tfjs-engine classifier reports (runs record it): the chosen tfjs backend, 'js' before one is. */
export function tfBackend(): string {
  return tfBackendName() ?? 'js';
}
