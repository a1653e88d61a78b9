/** Messages between the embedder (engine.ts) and its inference worker thread (inference-worker.ts). */

/** How the worker feeds a model and reads its output. */
export interface SessionConfig {
  /** Model file, or null when the model arrives as bytes (a fused model). */
  modelPath: string | null;
  inputName: string;
  /** Element type of the input tensor; float16 inputs are sent as float32 and converted in the worker. */
  inputType: 'float32' | 'float16' | 'uint8';
  /** Dimensions of one item of the batch (the batch dimension is prepended). */
  itemDims: number[];
  outputName: string;
  /** 'cls' takes token 0 of a [B, T, D] output; the others expect [B, D]. */
  outputKind: 'pooler' | 'cls' | 'first';
  dim: number;
  provider: string;
}

/** Parent -> worker. */
export type ToWorker =
  | ({ type: 'init'; modelBytes?: Uint8Array } & SessionConfig)
  | { type: 'run'; id: number; data: Float32Array | Uint8Array; n: number }
  | { type: 'close' };

/** Worker -> parent. */
export type FromWorker =
  | { type: 'init'; ok: true }
  | { type: 'init'; ok: false; error: string }
  | { type: 'run'; id: number; out: Float32Array }
  | { type: 'run'; id: number; error: string }
  | { type: 'closed' };
