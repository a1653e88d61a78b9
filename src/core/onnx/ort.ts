/**
 * onnxruntime-node, loaded once on first use. It is imported lazily (and may be absent or fail to load
 * its native addon): callers get null and fall back to JavaScript.
 */
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
