import { LabError } from '../../errors';
import type { HeadGraph, HeadIo } from '../head-graph';
import { kerasHead } from './onnx-head';
import { argmaxRows, takeLabels, takeRows, type Matrix } from '../../math/matrix';
import { Prng, permutation, stratifiedSplit } from '../../math/prng';
import { initTf, type Tf } from '../tf-backend';
import { stateF32, type Classifier, type ClassifierContext, type EpochLog, type FitOptions, type SavedModel } from '../types';
import type { AdamConfig, MlpEngine } from '../mlp/engine';
import { OnnxMlpTrainer } from '../mlp/mlp-onnx';
import { forwardTf, mlpLayout, TfjsMlpTrainer } from '../mlp/mlp-tfjs';
import type { KerasParams } from './params';

/**
 * tf.train.adam's defaults as tfjs layers' model.fit used them: betas 0.9/0.999 and eps = the backend's
 * epsilon (1e-7 on the float32 cpu/wasm/tensorflow backends), added to the bias-corrected sqrt(v) (tfjs-core's
 * AdamOptimizer.applyGradients).
 */
const ADAM = { b1: 0.9, b2: 0.999, eps: 1e-7 };
/** Keras's epsilon: sparseCategoricalCrossentropy on softmax outputs clips them to [1e-7, 1 - 1e-7]. */
const CLIP = 1e-7;

/**
 * The study's Keras net: Dense(hidden, relu) -> Dense(classes, softmax), the kernels Glorot-uniform (seeded,
 * drawn by tfjs's own initializer, seeds `seed` and `seed + 1`) and the biases zero, batch 32, sparse
 * categorical cross-entropy on the softmax probabilities (clipped to [1e-7, 1 - 1e-7] as Keras does; the
 * study's from_logits=True on softmax outputs is a bug we do not copy), Adam as tfjs's AdamOptimizer, rows
 * reshuffled every epoch with a seeded PRNG, the last epoch's weights kept, validation loss and accuracy
 * logged every epoch on the validation data.
 *
 * It used to run through tfjs layers' model.fit (one wasm thread where tfjs-node is absent: 10x slower than
 * the mlp). It now trains on the mlp's engines, which compute the same maths by hand: onnxruntime's CPU
 * provider when onnxruntime-node loads (mlp-onnx.ts), else TensorFlow.js (mlp-tfjs.ts); `engine` records
 * which one, and keras.test.ts checks both against a float64 reference and against tfjs layers' model.fit.
 */
export class KerasClassifier implements Classifier<KerasParams> {
  readonly kind = 'keras';
  /** As tfjs layers' getWeights(): kernel1 [D x H], bias1 [H], kernel2 [H x C], bias2 [C]. */
  private weights: Float32Array[] | null = null;
  private dim = 0;
  readonly numClasses: number;
  private readonly seed: number;
  /** The engine the last fit trained on: 'onnxruntime-cpu' or 'tfjs-<backend>' (null before fit). */
  engine: string | null = null;

  constructor(
    readonly params: KerasParams,
    ctx: ClassifierContext,
  ) {
    this.numClasses = ctx.numClasses;
    this.seed = ctx.seed;
  }

  /** How its last fit shared the steps between thread counts (onnxruntime engine; undefined otherwise). */
  engineThreads?: string;

  /** The engine it trained on ('js' before a fit). */
  get backend(): string {
    return this.engine ?? 'js';
  }

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    if (X.rows !== y.length) throw new LabError('invalid_input', `keras: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'keras: no training rows.');
    const { tf, backend } = await initTf();
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
    const D = X.cols;
    const L = mlpLayout(D, p.hidden, this.numClasses);
    const theta0 = this.glorotTheta(tf, D);
    const adam: AdamConfig = { lr: p.lr, ...ADAM };
    const w1 = theta0.subarray(L.w1, L.w2);
    const w2 = theta0.subarray(L.w2, L.total);
    const engine: MlpEngine =
      (await OnnxMlpTrainer.create(trX, trY, p.hidden, this.numClasses, p.batchSize, adam, w1, w2, { clip: CLIP })) ??
      new TfjsMlpTrainer(tf, backend, trX, trY, p.hidden, this.numClasses, p.batchSize, adam, w1, w2, { clip: CLIP });
    this.engine = engine.engine;
    const rng = new Prng(this.seed ^ 0x5bd1e995);
    const theta = new Float32Array(L.total);
    try {
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        const perm = permutation(trX.rows, rng);
        const log: EpochLog = { epoch, ...this.tally(await engine.epoch(perm, opts.signal), (i) => trY[perm[i]!]!, perm.length, true) };
        engine.weights().forEach((w, i) => theta.set(w, i === 0 ? L.w1 : L.w2));
        if (val && val.X.rows > 0) {
          const P = await engine.proba(val.X);
          const ev = this.tally(P.data, (i) => val.y[i]!, val.X.rows, false);
          log.val_loss = ev.loss;
          log.val_accuracy = ev.accuracy;
        }
        opts.onEpoch?.(log);
        opts.onProgress?.(epoch, p.epochs, 'epoch');
      }
    } finally {
      this.engineThreads = engine.threadUse?.();
      await engine.dispose();
    }
    this.weights = [theta.slice(L.w1, L.b1), theta.slice(L.b1, L.w2), theta.slice(L.w2, L.b2), theta.slice(L.b2, L.total)];
  }

  /**
   * The initial weights, flat as mlpLayout (kernel1, bias1, kernel2, bias2): the kernels drawn by tfjs's
   * glorotUniform with the seeds tfjs layers' Dense got before (seed, seed + 1), so the start is the same.
   */
  private glorotTheta(tf: Tf, D: number): Float32Array {
    const H = this.params.hidden;
    const C = this.numClasses;
    const L = mlpLayout(D, H, C);
    const theta = new Float32Array(L.total);
    const draw = (seed: number, shape: [number, number]): Float32Array => {
      const t = tf.initializers.glorotUniform({ seed }).apply(shape, 'float32');
      const data = t.dataSync() as Float32Array;
      t.dispose();
      return data;
    };
    theta.set(draw(this.seed, [D, H]), L.w1);
    theta.set(draw(this.seed + 1, [H, C]), L.w2);
    return theta;
  }

  /**
   * Mean clipped cross-entropy (-log of the true class's probability clipped to [1e-7, 1 - 1e-7], as Keras
   * reports it) and accuracy of n rows, from log-probabilities (`log`) or probabilities, row i's label label(i).
   */
  private tally(out: Float32Array, label: (i: number) => number, n: number, log: boolean): { loss: number; accuracy: number } {
    const C = this.numClasses;
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < n; i++) {
      let arg = 0;
      for (let c = 1; c < C; c++) if (out[i * C + c]! > out[i * C + arg]!) arg = c;
      const yi = label(i);
      const py = log ? Math.exp(out[i * C + yi]!) : out[i * C + yi]!;
      lossSum -= Math.log(Math.min(Math.max(py, CLIP), 1 - CLIP));
      if (arg === yi) correct++;
    }
    return { loss: lossSum / n, accuracy: correct / n };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (!this.weights) throw new LabError('invalid_input', 'keras: the classifier is not fitted.');
    if (X.cols !== this.dim) throw new LabError('invalid_input', `keras: expected ${this.dim} features, got ${X.cols}.`);
    const { tf } = await initTf();
    const theta = new Float32Array(this.weights.reduce((a, w) => a + w.length, 0));
    let off = 0;
    for (const w of this.weights) {
      theta.set(w, off);
      off += w.length;
    }
    return await forwardTf(tf, theta, X, this.dim, this.params.hidden, this.numClasses);
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

  /** Rebuilds a fitted classifier from toJSON() output (also runs saved by the tfjs layers version). */
  static load(saved: SavedModel): KerasClassifier {
    const c = new KerasClassifier(saved.params as unknown as KerasParams, { numClasses: saved.numClasses, seed: (saved.state.seed as number) ?? 0 });
    c.weights = (saved.state.weights as unknown[]).map((w) => stateF32(w));
    c.dim = saved.dim;
    return c;
  }
}
