import { LabError, throwIfAborted } from '../../errors';
import type { HeadGraph, HeadIo } from '../head-graph';
import { knnHead } from './onnx-head';
import { argmaxRows, type Matrix } from '../../math/matrix';
import { normalizeRows } from '../../math/normalize';
import { type ModelDef, OnnxType, type ValueInfo } from '../../onnx/onnx-writer';
import { cpuGraphSession, loadOrt } from '../../onnx/ort';
import { initTf, tfBackend } from '../tf-backend';
import { stateF32, stateI32, type Classifier, type ClassifierContext, type FitOptions, type SavedModel } from '../types';
import type { KnnParams } from './params';

/** Query rows per block: keeps the block x train similarity matrix near 64 MB (two blocks live at once). */
const BLOCK_BYTES = 64 * 1024 * 1024;

/** One engine's similarity product of a block of (normalised) query rows with every training row. */
interface BlockProducts {
  run(q: Float32Array, rows: number): Promise<Float32Array>;
  dispose(): void;
}

type Session = import('onnxruntime-node').InferenceSession;
let gemmPromise: Promise<Session | null> | null = null;

/** The onnxruntime session of S = Q T^T (Gemm, transB), or null when it cannot be created. */
function gemmSession(): Promise<Session | null> {
  const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, type: OnnxType.FLOAT, shape });
  gemmPromise ??= cpuGraphSession((): ModelDef => ({
    inputs: [f('Q', ['M', 'D']), f('T', ['N', 'D'])],
    outputs: [f('S', ['M', 'N'])],
    nodes: [{ op: 'Gemm', inputs: ['Q', 'T'], outputs: ['S'], attrs: { transB: { i: 1 } } }],
    graphName: 'knn_similarity',
    opset: 17,
  }));
  return gemmPromise;
}

/**
 * Streaming top-k of one block of similarities (rows x n) into the output lists from row `start`; a
 * bounded insertion list rejects almost every candidate with one comparison. Strict '>' keeps the lower
 * index first among equal similarities, as a stable sort would. exclude[start + r] is skipped for row r.
 */
function topK(
  sims: Float32Array,
  rows: number,
  n: number,
  kk: number,
  start: number,
  exclude: Int32Array | null,
  indices: Int32Array,
  similarities: Float32Array,
): void {
  for (let r = 0; r < rows; r++) {
    const o = (start + r) * kk;
    const sv = similarities.subarray(o, o + kk);
    const iv = indices.subarray(o, o + kk);
    sv.fill(-Infinity);
    iv.fill(-1);
    const skip = exclude ? exclude[start + r]! : -1;
    const row = sims.subarray(r * n, (r + 1) * n);
    let floor = -Infinity;
    for (let j = 0; j < n; j++) {
      const v = row[j]!;
      if (v <= floor || j === skip) continue;
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
 * the class scores to sum 1. Similarities are computed in query blocks (matrix products on onnxruntime,
 * TensorFlow.js where it is absent) with a streaming top-k.
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

  /** Where its similarity products ran (or will run): 'onnxruntime-cpu', else the TensorFlow.js backend. */
  private engine: string | null = null;

  get backend(): string {
    return this.engine ?? tfBackend();
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
    if (query.cols !== this.dim) throw new LabError('invalid_input', `knn: expected ${this.dim} features, got ${query.cols}.`);
    return this.neighborsOfNormalized(normalizeRows(query), query.rows, k, null);
  }

  /**
   * The k nearest neighbours of the given training rows, each row left out of its own list (leave-one-out:
   * a training row is always its own nearest neighbour). Duplicates of a row at other indices still count.
   */
  async trainingNeighbors(rows: Int32Array, k: number = this.params.k, signal?: AbortSignal): Promise<Neighbors> {
    const train = this.requireTrain();
    const n = train.length / this.dim;
    const d = this.dim;
    const q = new Float32Array(rows.length * d);
    rows.forEach((r, i) => {
      if (r < 0 || r >= n) throw new LabError('invalid_input', `knn: training row ${r} is out of range (0..${n - 1}).`);
      q.set(train.subarray(r * d, (r + 1) * d), i * d);
    });
    return this.neighborsOfNormalized(q, rows.length, Math.min(k, n - 1), rows, signal);
  }

  /** Leave-one-out labels of training rows (see Classifier.predictTrainingRows). */
  async predictTrainingRows(rows: Int32Array, signal?: AbortSignal): Promise<Int32Array> {
    if (this.train && this.train.length / this.dim < 2) throw new LabError('invalid_input', 'knn: leave-one-out needs at least 2 training rows.');
    return argmaxRows(this.vote(await this.trainingNeighbors(rows, this.params.k, signal)));
  }

  private requireTrain(): Float32Array {
    if (!this.train) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    return this.train;
  }

  /**
   * Top-k over similarity blocks: query rows in blocks of about BLOCK_BYTES of similarities (memory is
   * bounded by the block, never n x n), each block one matrix product on onnxruntime (MLAS, all cores)
   * or TensorFlow.js where onnxruntime is absent; the next block's product runs while this block's top-k
   * is taken in JS, so both cores stay busy. `exclude[r]` is a training index query row r must skip.
   */
  private async neighborsOfNormalized(q: Float32Array, m: number, k: number, exclude: Int32Array | null, signal?: AbortSignal): Promise<Neighbors> {
    const train = this.requireTrain();
    const d = this.dim;
    const n = train.length / d;
    const kk = Math.max(0, Math.min(k, n));
    const indices = new Int32Array(m * kk);
    const similarities = new Float32Array(m * kk);
    if (m === 0 || kk === 0) return { rows: m, k: kk, indices, similarities };
    const block = Math.max(1, Math.min(4096, Math.floor(BLOCK_BYTES / (4 * n))));
    const products = await this.blockProducts(train, n);
    try {
      const launch = (start: number): Promise<Float32Array> => products.run(q.subarray(start * d, Math.min(m, start + block) * d), Math.min(block, m - start));
      let next: Promise<Float32Array> | null = launch(0);
      for (let start = 0; start < m; start += block) {
        const rows = Math.min(block, m - start);
        const sims = await next!;
        throwIfAborted(signal);
        next = start + block < m ? launch(start + block) : null;
        topK(sims, rows, n, kk, start, exclude, indices, similarities);
      }
    } finally {
      products.dispose();
    }
    return { rows: m, k: kk, indices, similarities };
  }

  /** The engine of the similarity blocks: onnxruntime's CPU Gemm where it loads, else TensorFlow.js. */
  private async blockProducts(train: Float32Array, n: number): Promise<BlockProducts> {
    const d = this.dim;
    const ort = await loadOrt();
    const sess = ort ? await gemmSession() : null;
    if (ort && sess) {
      this.engine = 'onnxruntime-cpu';
      const T = new ort.Tensor('float32', train, [n, d]);
      return {
        run: async (qb, rows) => (await sess.run({ Q: new ort.Tensor('float32', qb, [rows, d]), T })).S!.data as Float32Array,
        dispose: () => undefined,
      };
    }
    const { tf } = await initTf();
    this.engine = tfBackend();
    // Stored as [D x n] so the block product is a plain matMul: tfjs-wasm's transposed matMul is ~10x slower.
    const trainT = tf.tidy(() => tf.transpose(tf.tensor2d(train, [n, d])));
    return {
      run: async (qb, rows) => {
        const simT = tf.tidy(() => tf.matMul(tf.tensor2d(qb, [rows, d]), trainT));
        try {
          return (await simT.data()) as Float32Array;
        } finally {
          simT.dispose();
        }
      },
      dispose: () => trainT.dispose(),
    };
  }

  /** Class scores of each query row from its neighbours, normalised to sum 1. */
  private vote(nb: Neighbors): Matrix {
    const labels = this.labels;
    if (!labels) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    const C = this.numClasses;
    const out = new Float32Array(nb.rows * C);
    const T = this.params.temperature;
    for (let i = 0; i < nb.rows; i++) {
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
    return { rows: nb.rows, cols: C, data: out };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (!this.labels) throw new LabError('invalid_input', 'knn: the classifier is not fitted.');
    return this.vote(await this.nearestNeighbors(X));
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
      // The arrays themselves: a run replaces `train` by a reference to its set before anything is stored.
      state: { train: this.train, labels: this.labels },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): KnnClassifier {
    const c = new KnnClassifier(saved.params as unknown as KnnParams, { numClasses: saved.numClasses });
    // Runs store a reference to their embedding set instead of the vectors; the runs layer then hands
    // the set's raw training vectors in as `trainVectors` (same row order as fit()).
    const raw = saved.state.trainVectors;
    c.train = raw instanceof Float32Array ? normalizeRows({ rows: raw.length / saved.dim, cols: saved.dim, data: raw }) : stateF32(saved.state.train);
    c.labels = stateI32(saved.state.labels);
    c.dim = saved.dim;
    return c;
  }
}
