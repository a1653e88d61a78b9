/**
 * onnxruntime-node, loaded once on first use. It is imported lazily (and may be absent or fail to load
 * its native addon): callers get null and fall back to JavaScript.
 */
import { encodeModel, type ModelDef } from './onnx-writer';

export type Ort = typeof import('onnxruntime-node');

let ortPromise: Promise<Ort | null> | null = null;

/** The onnxruntime-node module, or null when it cannot be loaded. Memoised. */
export function loadOrt(): Promise<Ort | null> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort,
    () => null,
  );
  return ortPromise;
}

/**
 * A session of a graph written here (onnx-writer's ModelDef) on the CPU provider with every graph
 * optimisation, or null when onnxruntime cannot be loaded or refuses the graph (callers fall back to
 * JavaScript). The model is built only when onnxruntime loads.
 */
export async function cpuGraphSession(model: () => ModelDef): Promise<import('onnxruntime-node').InferenceSession | null> {
  const ort = await loadOrt();
  if (!ort) return null;
  try {
    return await ort.InferenceSession.create(encodeModel(model()), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch {
    return null;
  }
}
