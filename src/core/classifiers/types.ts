import type { Matrix } from '../math/matrix';

/** One epoch's logs, Keras style: loss/accuracy on the training data, `val_` keys on validation data. */
export interface EpochLog {
  epoch: number;
  loss?: number;
  accuracy?: number;
  val_loss?: number;
  val_accuracy?: number;
  [key: string]: number | undefined;
}

/** Options for Classifier.fit. `onProgress` is for kinds without epochs (svc: class pairs done). */
export interface FitOptions {
  signal?: AbortSignal;
  onEpoch?: (log: EpochLog) => void;
  onProgress?: (done: number, total: number, phase: string) => void;
  validation?: { X: Matrix; y: Int32Array };
}

/** What toJSON returns: enough to rebuild the classifier with load(). Binary weights as base64 float32. */
export interface SavedModel {
  kind: string;
  version: number;
  params: Record<string, unknown>;
  numClasses: number;
  dim: number;
  state: Record<string, unknown>;
}

/** What every kind is built with: the number of classes and the seed of its randomness. */
export interface ClassifierContext {
  numClasses: number;
  seed: number;
}

/** The estimator interface (scikit-learn / Keras spirit). */
export interface Classifier<P = Record<string, unknown>> {
  readonly kind: string;
  readonly params: P;
  /**
   * Where its work ran, as runs record it: the TensorFlow.js backend for the tfjs kinds, the training
   * engine of an mlp, the solver threads of an svc ('js' when nothing more is known).
   */
  readonly backend: string;
  fit(X: Matrix, y: Int32Array, opts?: FitOptions): Promise<void>;
  /** Rows sum to 1; one column per class. */
  predictProba(X: Matrix): Promise<Matrix>;
  predict(X: Matrix): Promise<Int32Array>;
  toJSON(): SavedModel;
}

/** Encodes a Float32Array as base64 (for SavedModel.state). */
export function f32ToB64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** Decodes base64 into a fresh (aligned) Float32Array. */
export function b64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
