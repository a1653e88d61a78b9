/** The interface both mlp training engines (mlp-onnx.ts, mlp-tfjs.ts) offer the estimator (mlp.ts). */

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
  dispose(): Promise<void>;
}

/** Adam's hyper-parameters (PyTorch's update rule). */
export interface AdamConfig {
  lr: number;
  b1: number;
  b2: number;
  eps: number;
}
