import { LabError, throwIfAborted } from '../../errors';
import type { HeadGraph, HeadIo } from '../head-graph';
import { knnHead } from './onnx-head';
import { argmaxRows, type Matrix } from '../../math/matrix';
import { normalizeRows } from '../../math/normalize';
import { initTf, tfBackend } from '../tf-backend';
import { b64ToF32, f32ToB64, type Classifier, type ClassifierContext, type FitOptions, type SavedModel } from '../types';
import type { KnnParams } from './params';

/** Query rows per block: keeps the block x train similarity matrix near 50 MB at 50,000 training rows. */
const BLOCK_BYTES = 64 * 1024 * 1024;

/** Nearest training rows of each query row: row-major [rows x k] indices and cosine similarities. */
export interface Neighbors {
  rows: number;
  k: number;
  indices: Int32Array;
  similarities: Float32Array;
}

/**
 * DINO's weighted k-NN classifier (Caron et al. 2021, eval_knn.py): cosine similarity between L2-normalised
 * features, the top-k training rows vote for their class with weight exp(sim / T). predictProba normalises
 * the class scores to sum 1. The similarity matrix is computed in query blocks on TensorFlow.js.
 */
export class KnnClassifier implements Classifier<KnnParams> {
  readonly kind = 'knn';
  private train: Float32Array | null = null;
  private labels: Int32Array | null = null;
  private dim = 0;
  readonly numClasses: number;

  /** k-NN draws no random numbers: the context's seed is not used. */
  constructor(
    readonly params: KnnParams,
    ctx: Pick<ClassifierContext, 'numClasses'>,
  ) {
    this.numClasses = ctx.numClasses;
  }

  /** The TensorFlow.js backend its similarity products run on. */
  get backend(): string {
    return tfBackend();
  }

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    if (X.rows !== y.length) throw new LabError('invalid_input', `knn: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'knn: no training rows.');
    throwIfAborted(opts.signal);
    this.train = normalizeRows(X);
    this.labels = Int32Array.from(y);
    this.dim = X.cols;
    opts.onProgress?.(1, 1, 'index');
  }

  /** The k most similar training rows (indices into the fit() matrix) of each query row. */
  async nearestNeighbors(query: Matrix, k: number = this.params.k): Promise<Neighbors> {
    const train = this.train;
    if (!train) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    if (query.cols !== this.dim) throw new LabError('invalid_input', `knn: expected ${this.dim} features, got ${query.cols}.`);
    const n = train.length / this.dim;
    const kk = Math.min(k, n);
    const { tf } = await initTf();
    const indices = new Int32Array(query.rows * kk);
    const similarities = new Float32Array(query.rows * kk);
    const q = normalizeRows(query);
    // Stored as [D x n] so the block product is a plain matMul: tfjs-wasm's transposed matMul is ~10x slower.
    const trainT = tf.tidy(() => tf.transpose(tf.tensor2d(train, [n, this.dim])));
    try {
      const block = Math.max(1, Math.min(4096, Math.floor(BLOCK_BYTES / (4 * n))));
      for (let start = 0; start < query.rows; start += block) {
        const rows = Math.min(block, query.rows - start);
        const simT = tf.tidy(() => {
          const qb = tf.tensor2d(q.subarray(start * this.dim, (start + rows) * this.dim), [rows, this.dim]);
          return tf.matMul(qb, trainT);
        });
        const sims = (await simT.data()) as Float32Array;
        simT.dispose();
        // Top-k in JS: a bounded insertion list rejects almost every candidate with one comparison, far
        // cheaper than tf.topk, which sorts whole rows on the wasm and cpu backends.
        for (let r = 0; r < rows; r++) {
          const o = (start + r) * kk;
          const sv = similarities.subarray(o, o + kk);
          const iv = indices.subarray(o, o + kk);
          sv.fill(-Infinity);
          iv.fill(-1);
          const row = sims.subarray(r * n, (r + 1) * n);
          let floor = -Infinity;
          for (let j = 0; j < n; j++) {
            const v = row[j]!;
            // Strict '>' keeps the lower index first among equal similarities, as a stable sort would.
            if (v <= floor) continue;
            let pos = kk - 1;
            while (pos > 0 && sv[pos - 1]! < v) {
              sv[pos] = sv[pos - 1]!;
              iv[pos] = iv[pos - 1]!;
              pos--;
            }
            sv[pos] = v;
            iv[pos] = j;
            floor = sv[kk - 1]!;
          }
        }
      }
    } finally {
      trainT.dispose();
    }
    return { rows: query.rows, k: kk, indices, similarities };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    const labels = this.labels;
    if (!labels) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    const nb = await this.nearestNeighbors(X);
    const C = this.numClasses;
    const out = new Float32Array(X.rows * C);
    const T = this.params.temperature;
    for (let i = 0; i < X.rows; i++) {
      const scores = new Float64Array(C);
      // Subtracting the top similarity keeps exp() finite at small T; the ratios (and argmax) are unchanged.
      const top = nb.similarities[i * nb.k]!;
      for (let j = 0; j < nb.k; j++) {
        const s = nb.similarities[i * nb.k + j]!;
        scores[labels[nb.indices[i * nb.k + j]!]!]! += Math.exp((s - top) / T);
      }
      let sum = 0;
      for (let c = 0; c < C; c++) sum += scores[c]!;
      for (let c = 0; c < C; c++) out[i * C + c] = scores[c]! / sum;
    }
    return { rows: X.rows, cols: C, data: out };
  }

  async predict(X: Matrix): Promise<Int32Array> {
    return argmaxRows(await this.predictProba(X));
  }

  /** The fitted k-NN as an ONNX head (see onnx-head.ts): its training vectors travel inside. */
  onnxHead(io: HeadIo): HeadGraph {
    if (!this.train || !this.labels) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    return knnHead(io, { train: this.train, labels: this.labels, D: this.dim, C: this.numClasses, k: this.params.k, temperature: this.params.temperature });
  }

  toJSON(): SavedModel {
    if (!this.train || !this.labels) throw new LabError('invalid_input', 'knn: cannot save an unfitted classifier.');
    return {
      kind: 'knn',
      version: 1,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: { train: f32ToB64(this.train), labels: Buffer.from(this.labels.buffer, this.labels.byteOffset, this.labels.byteLength).toString('base64') },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): KnnClassifier {
    const c = new KnnClassifier(saved.params as unknown as KnnParams, { numClasses: saved.numClasses });
    // Runs store a reference to their embedding set instead of the vectors; the runs layer then hands
    // the set's raw training vectors in as `trainVectors` (same row order as fit()).
    const raw = saved.state.trainVectors;
    c.train = raw instanceof Float32Array ? normalizeRows({ rows: raw.length / saved.dim, cols: saved.dim, data: raw }) : b64ToF32(saved.state.train as string);
    const b = Buffer.from(saved.state.labels as string, 'base64');
    c.labels = new Int32Array(b.byteLength / 4);
    new Uint8Array(c.labels.buffer).set(b);
    c.dim = saved.dim;
    return c;
  }
}
