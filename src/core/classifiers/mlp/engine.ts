import type { Matrix } from '../../math/matrix';

/**
 * The interface the dense-net training engines (mlp-onnx.ts, mlp-tfjs.ts) offer the estimators: the mlp
 * (mlp.ts, PyTorch's recipe) and the keras kind (../keras/keras.ts, tfjs layers' recipe).
 */

/** What the estimator needs of a training engine. */
export interface MlpEngine {
  /** 'onnxruntime-cpu' or 'tfjs-<backend>'. */
  readonly engine: string;
  /**
   * One epoch over the rows in the order `perm` (batches of B, the last one partial). Returns the
   * log-probabilities of every row as it was trained ([N x C], in perm order).
   */
  epoch(perm: Int32Array, signal?: AbortSignal): Promise<Float32Array>;
  /** The current [W1; b1] ((D+1) x H) and [W2; b2] ((H+1) x C), flat. */
  weights(): Float32Array[];
  /**
   * Softmax probabilities of the current weights for X ([rows x C], rows renormalised to sum 1): the per-epoch
   * validation pass, on the engine's own runtime (onnxruntime: no tfjs upload of the weights and rows).
   */
  proba(X: Matrix): Promise<Matrix>;
  /** How the runs were shared between thread counts (onnxruntime), for benches and logs. */
  threadUse?(): string;
  dispose(): Promise<void>;
}

/**
 * Adam's hyper-parameters. Both recipes use the same update, eps added to the bias-corrected sqrt(v):
 * W -= lr * (m / bc1) / (sqrt(v / bc2) + eps) (PyTorch's torch.optim.Adam, and tfjs-core's AdamOptimizer,
 * which tf.train.adam and tfjs layers' model.fit use); they differ in eps (1e-8 vs tfjs's backend epsilon 1e-7).
 */
export interface AdamConfig {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
}

/** What differs between the recipes the trainers run, besides Adam's constants and the batch size. */
export interface TrainerOptions {
  /** onnxruntime's intra-op threads; unset: the faster of threadChoices(D, H) in mlp-onnx.ts, measured as it trains. */
  threads?: number;
  /**
   * Keras's cross-entropy on softmax outputs clips the probabilities to [clip, 1 - clip] (tfjs: the backend
   * epsilon, 1e-7), so a row whose true-class probability falls outside passes no gradient. Unset: no clip.
   */
  clip?: number;
  /** Floats per chunk of layer 1's Adam state on onnxruntime (tests force small chunks; default adamChunkFloats(threads, H) in mlp-onnx.ts). */
  chunkFloats?: number;
  /** The ways to run the steps that the onnxruntime trainer chooses between (tests; overrides threads and chunkFloats). */
  variants?: { threads: number; chunkFloats: number }[];
}
