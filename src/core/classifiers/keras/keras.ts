import { LabError, throwIfAborted } from '../../errors';
import type { HeadGraph, HeadIo } from '../head-graph';
import { kerasHead } from './onnx-head';
import { argmaxRows, takeLabels, takeRows, type Matrix } from '../../math/matrix';
import { renormalizeRowsInPlace } from '../../math/normalize';
import { Prng, permutation, stratifiedSplit } from '../../math/prng';
import { initTf, tfBackend } from '../tf-backend';
import { stateF32, type Classifier, type ClassifierContext, type FitOptions, type SavedModel } from '../types';
import type { KerasParams } from './params';

type Tf = Awaited<ReturnType<typeof initTf>>['tf'];
type LayersModel = ReturnType<Tf['sequential']>;

function build(tf: Tf, dim: number, hidden: number, numClasses: number, seed: number): LayersModel {
  const model = tf.sequential();
  model.add(
    tf.layers.dense({
      units: hidden,
      activation: 'relu',
      inputShape: [dim],
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
      biasInitializer: 'zeros',
    }),
  );
  model.add(
    tf.layers.dense({
      units: numClasses,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }),
      biasInitializer: 'zeros',
    }),
  );
  return model;
}

/**
 * The study's Keras net on TensorFlow.js layers: Sequential Dense(hidden, relu) -> Dense(classes, softmax),
 * Adam, 'sparseCategoricalCrossentropy' on the softmax probabilities (the study's from_logits=True on softmax
 * outputs is a bug we do not copy), model.fit with validationData, one EpochLog per epoch.
 *
 * Determinism: the kernels start from glorotUniform with a seed and the biases at zero. tfjs's own
 * `shuffle: true` draws from Math.random, which cannot be seeded, so each epoch we permute the rows with a
 * seeded PRNG and call fit for that one epoch with shuffle off. On the cpu and wasm backends this makes a run
 * repeatable; tfjs-node (TensorFlow's multithreaded kernels) may differ in the last bits between runs.
 */
export class KerasClassifier implements Classifier<KerasParams> {
  readonly kind = 'keras';
  private weights: Float32Array[] | null = null;
  private dim = 0;
  private model: LayersModel | null = null;
  readonly numClasses: number;
  private readonly seed: number;

  constructor(
    readonly params: KerasParams,
    ctx: ClassifierContext,
  ) {
    this.numClasses = ctx.numClasses;
    this.seed = ctx.seed;
  }

  /** The TensorFlow.js backend it runs on. */
  get backend(): string {
    return tfBackend();
  }

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    if (X.rows !== y.length) throw new LabError('invalid_input', `keras: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'keras: no training rows.');
    const { tf } = await initTf();
    const p = this.params;
    let trX = X;
    let trY = y;
    let val = opts.validation;
    if (!val && p.validationFraction > 0) {
      const split = stratifiedSplit(y, p.validationFraction, this.seed);
      trX = takeRows(X, split.train);
      trY = takeLabels(y, split.train);
      val = { X: takeRows(X, split.validation), y: takeLabels(y, split.validation) };
    }
    this.dim = X.cols;
    this.model?.dispose();
    const model = build(tf, X.cols, p.hidden, this.numClasses, this.seed);
    model.compile({ optimizer: tf.train.adam(p.lr), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const valX = val && val.X.rows ? tf.tensor2d(val.X.data, [val.X.rows, val.X.cols]) : null;
    const valY = val && val.X.rows ? tf.tensor1d(Float32Array.from(val.y)) : null;
    const rng = new Prng(this.seed ^ 0x5bd1e995);
    try {
      for (let epoch = 0; epoch < p.epochs; epoch++) {
        throwIfAborted(opts.signal);
        const perm = permutation(trX.rows, rng);
        const xs = tf.tensor2d(takeRows(trX, perm).data, [trX.rows, trX.cols]);
        const ys = tf.tensor1d(Float32Array.from(takeLabels(trY, perm)));
        let logs: Record<string, number> = {};
        try {
          await model.fit(xs, ys, {
            batchSize: p.batchSize,
            epochs: 1,
            shuffle: false,
            verbose: 0,
            validationData: valX && valY ? [valX, valY] : undefined,
            callbacks: {
              onEpochEnd: async (_e, l) => {
                logs = { ...(l as Record<string, number>) };
              },
              onBatchEnd: async () => {
                if (opts.signal?.aborted) model.stopTraining = true;
              },
            },
          });
        } finally {
          xs.dispose();
          ys.dispose();
        }
        throwIfAborted(opts.signal);
        opts.onEpoch?.({
          epoch: epoch + 1,
          loss: logs.loss,
          accuracy: logs.acc ?? logs.accuracy,
          val_loss: logs.val_loss,
          val_accuracy: logs.val_acc ?? logs.val_accuracy,
        });
        opts.onProgress?.(epoch + 1, p.epochs, 'epoch');
      }
    } catch (err) {
      model.dispose();
      throw err;
    } finally {
      valX?.dispose();
      valY?.dispose();
    }
    this.model = model;
    this.weights = model.getWeights().map((w) => w.dataSync() as Float32Array);
  }

  private async ensureModel(): Promise<{ tf: Tf; model: LayersModel }> {
    const { tf } = await initTf();
    if (!this.weights) throw new LabError('invalid_input', 'keras: the classifier is not fitted.');
    if (!this.model) {
      const model = build(tf, this.dim, this.params.hidden, this.numClasses, this.seed);
      const shapes = [
        [this.dim, this.params.hidden],
        [this.params.hidden],
        [this.params.hidden, this.numClasses],
        [this.numClasses],
      ];
      const ts = this.weights.map((w, i) => tf.tensor(w, shapes[i]!));
      model.setWeights(ts);
      ts.forEach((t) => t.dispose());
      this.model = model;
    }
    return { tf, model: this.model };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (X.cols !== this.dim) throw new LabError('invalid_input', `keras: expected ${this.dim} features, got ${X.cols}.`);
    const { tf, model } = await this.ensureModel();
    const out = new Float32Array(X.rows * this.numClasses);
    const block = 4096;
    for (let s = 0; s < X.rows; s += block) {
      const n = Math.min(block, X.rows - s);
      const pr = tf.tidy(() => model.predict(tf.tensor2d(X.data.subarray(s * X.cols, (s + n) * X.cols), [n, X.cols])) as ReturnType<Tf['tensor2d']>);
      out.set(await pr.data<'float32'>(), s * this.numClasses);
      pr.dispose();
    }
    // Softmax outputs in float32 can be off 1 by a few ulps; renormalise so rows sum to 1.
    renormalizeRowsInPlace(out, X.rows, this.numClasses);
    return { rows: X.rows, cols: this.numClasses, data: out };
  }

  async predict(X: Matrix): Promise<Int32Array> {
    return argmaxRows(await this.predictProba(X));
  }

  /** The fitted net as an ONNX head (see onnx-head.ts). */
  onnxHead(io: HeadIo): HeadGraph {
    if (!this.weights) throw new LabError('invalid_input', 'keras: the classifier is not fitted.');
    return kerasHead(io, this.weights, this.dim, this.params.hidden, this.numClasses);
  }

  toJSON(): SavedModel {
    if (!this.weights) throw new LabError('invalid_input', 'keras: cannot save an unfitted classifier.');
    return {
      kind: 'keras',
      version: 1,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: { seed: this.seed, weights: [...this.weights] },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): KerasClassifier {
    const c = new KerasClassifier(saved.params as unknown as KerasParams, { numClasses: saved.numClasses, seed: (saved.state.seed as number) ?? 0 });
    c.weights = (saved.state.weights as unknown[]).map((w) => stateF32(w));
    c.dim = saved.dim;
    return c;
  }
}
