/**
 * What the RBF block products share between the caller's thread (kernel-onnx.ts) and the block worker
 * (kernel-block-worker.ts): row gathering, the chunked transpose, the chunk size and the messages.
 */

/** Kernel values per onnxruntime call when a block is computed in row chunks (about 4 MB per intermediate). */
export const CHUNK_VALUES = 1 << 20;

/** The rows `rows` of a row-major matrix (d columns) as one contiguous array, with their squared norms as float32. */
export function gatherRows(X: Float32Array, d: number, sq: ArrayLike<number>, rows: Int32Array): { data: Float32Array<ArrayBuffer>; n: Float32Array<ArrayBuffer> } {
  const data = new Float32Array(rows.length * d);
  const n = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    data.set(X.subarray(r * d, (r + 1) * d), i * d);
    n[i] = sq[r]!;
  }
  return { data, n };
}

/** Writes the nr x n chunk K transposed: K[r][c] to out[off + c * stride + r] (16-column tiles). */
export function transposeChunk(K: Float32Array, nr: number, n: number, out: Float32Array, off: number, stride: number): void {
  for (let c0 = 0; c0 < n; c0 += 16) {
    const c1 = Math.min(n, c0 + 16);
    for (let r = 0; r < nr; r++) {
      const src = r * n;
      const dst = off + r;
      for (let c = c0; c < c1; c++) out[dst + c * stride] = K[src + c]!;
    }
  }
}

/** Data the block worker starts with (workerData): the RBF graph. */
export interface BlockWorkerData {
  model: Uint8Array;
}

/** Requests to the block worker; each is answered by a BlockReply with the same id. */
export type BlockRequest =
  | {
      id: number;
      type: 'init';
      /** Columns of the rows each block request brings. */
      d: number;
      gamma: number;
      /** The shared blocks array the products are written into. */
      K: Float32Array;
      /** Set to 1 by the caller when closing: the worker drops the blocks still queued. */
      stop: Int32Array;
    }
  | {
      id: number;
      type: 'block';
      /** The block's rows of the training matrix (row-major, d columns, transferred) and their squared norms; b null when B = A. */
      a: Float32Array;
      an: Float32Array;
      b: Float32Array | null;
      bn: Float32Array | null;
      off: number;
      offT: number;
    }
  | { id: number; type: 'close' };

/** A request done (ok) or failed (error). */
export interface BlockReply {
  id: number;
  ok: boolean;
  error?: string;
}
