import { LabError } from '../errors';
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

/**
 * What toJSON returns: enough to rebuild the classifier with load(). Weights are Float32Array / Int32Array
 * in `state` (stored as binary arrays, see model-codec.ts); models saved by older versions hold them as
 * base64 text, which every kind's load() still reads (stateF32 / stateI32).
 */
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
  /**
   * Optional: labels of training rows (indices into fit()'s X), each predicted without itself voting
   * (leave-one-out). Kinds whose prediction of a training row would use that row itself (k-NN) implement
   * it, so their train-split metrics mean something; the others are scored with predict().
   */
  predictTrainingRows?(rows: Int32Array, signal?: AbortSignal): Promise<Int32Array>;
  /**
   * Optional: predictProba and predict of the same rows from one pass, for kinds whose labels are the
   * argmax of their probabilities and whose pass is costly (k-NN: one neighbour search instead of two).
   */
  predictBoth?(X: Matrix): Promise<{ proba: Matrix; labels: Int32Array }>;
  toJSON(): SavedModel;
}

/** Encodes a Float32Array as base64: the format of models saved before binary storage (tests, old files). */
export function f32ToB64(a: Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/**
 * A float32 state array: a Float32Array as toJSON() puts it (returned as is), or the base64 text of a
 * model saved before binary storage (decoded into a fresh, aligned array).
 */
export function b64ToF32(s: string | Float32Array): Float32Array {
  if (s instanceof Float32Array) return s;
  if (typeof s !== 'string') throw new LabError('bad_model', 'A saved model is missing a float32 array.');
  const b = Buffer.from(s, 'base64');
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}

/** A float32 state value (Float32Array or old base64 text); LabError('bad_model') when absent. */
export function stateF32(v: unknown): Float32Array {
  return b64ToF32(v as string | Float32Array);
}

/** An int32 state value: an Int32Array, or the base64 text of a model saved before binary storage. */
export function stateI32(v: unknown): Int32Array {
  if (v instanceof Int32Array) return v;
  if (typeof v !== 'string') throw new LabError('bad_model', 'A saved model is missing an int32 array.');
  const b = Buffer.from(v, 'base64');
  const out = new Int32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
