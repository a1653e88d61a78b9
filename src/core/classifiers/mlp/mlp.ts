import { LabError } from '../../errors';
import { argmaxRows, takeLabels, takeRows, type Matrix } from '../../math/matrix';
import { Prng, permutation, stratifiedSplit } from '../../math/prng';
import { initTf, type Tf } from '../tf-backend';
import { stateF32, type Classifier, type ClassifierContext, type EpochLog, type FitOptions, type SavedModel } from '../types';
import { OnnxMlpTrainer } from './mlp-onnx';
import type { AdamConfig, MlpEngine } from './engine';
import { forwardTf, mlpLayout, TfjsMlpTrainer } from './mlp-tfjs';
import { mlpHead } from './onnx-head';
import type { MlpParams } from './params';
import type { HeadGraph, HeadIo } from '../head-graph';

/** PyTorch's Adam defaults (betas 0.9/0.999, eps 1e-8 added to sqrt(v_hat)). */
const ADAM = { b1: 0.9, b2: 0.999, eps: 1e-8 };

/** The rows trained on and the set the best epoch is selected on. */
interface FitData {
  trX: Matrix;
  trY: Int32Array;
  sel: { X: Matrix; y: Int32Array } | undefined;
}

/** PyTorch's default nn.Linear init: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), 1/sqrt(fan_in)), bias alike. */
function torchLinearInit(theta: Float32Array, offW: number, offB: number, fanIn: number, fanOut: number, rng: Prng): void {
  const bound = 1 / Math.sqrt(fanIn);
  for (let i = 0; i < fanIn * fanOut; i++) theta[offW + i] = (rng.next() * 2 - 1) * bound;
  for (let i = 0; i < fanOut; i++) theta[offB + i] = (rng.next() * 2 - 1) * bound;
}

/**
 * The reference study's PyTorch MLP, as one flat training loop. It trains on onnxruntime's CPU provider when
 * onnxruntime-node loads (mlp-onnx.ts: the step as one ONNX graph, looped over batches inside onnxruntime,
 * about 5x faster than tfjs-wasm), else on TensorFlow.js (mlp-tfjs.ts, best backend present); `engine`
 * records which one. The recipe, identical on both engines:
 * Linear(D, H) -> ReLU -> Linear(H, C), mean cross-entropy, Adam with PyTorch's defaults and update rule
 * (betas 0.9/0.999, eps 1e-8 added to sqrt(v_hat)), rows reshuffled every epoch with a seeded PRNG,
 * the last batch kept partial as DataLoader(drop_last=False). Gradients are written out by hand, so a step is
 * a dozen fused kernels, and all parameters live in one vector so Adam is a handful of element-wise ops.
 *
 * Best-epoch restore: after every epoch the model is scored on the selection set and the weights of the epoch
 * with the highest accuracy (first one on ties) are kept. With selectOn 'validation' that set is a seeded,
 * stratified validationFraction of the training rows (held out of training); with selectOn 'test' the caller
 * passes the test set as opts.validation, which reproduces the study but leaks test data into model selection.
 */
export class MlpClassifier implements Classifier<MlpParams> {
  readonly kind = 'mlp';
  readonly numClasses: number;
  private readonly seed: number;
  private theta: Float32Array | null = null;
  private dim = 0;
  /** The 1-based epoch whose weights were kept. */
  bestEpoch = 0;
  /** The engine the last fit trained on: 'onnxruntime-cpu' or 'tfjs-<backend>' (null before fit). */
  engine: string | null = null;

  constructor(
    readonly params: MlpParams,
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
    if (X.rows !== y.length) throw new LabError('invalid_input', `mlp: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'mlp: no training rows.');
    if (this.params.selectOn === 'test' && !opts.validation) {
      throw new LabError('invalid_input', "mlp: selectOn 'test' needs the test set passed as the validation data.");
    }
    const { tf, backend } = await initTf();
    const data = this.splitSelection(X, y, opts.validation);
    this.dim = X.cols;
    const engine = await this.startEngine(data, this.initialTheta(X.cols), tf, backend);
    this.engine = engine.engine;
    try {
      this.theta = await this.trainEpochs(engine, data, opts);
    } finally {
      this.engineThreads = engine.threadUse?.();
      await engine.dispose();
    }
  }

  /** The selection set: the given validation data, else a seeded stratified hold-out of the training rows. */
  private splitSelection(X: Matrix, y: Int32Array, validation: FitOptions['validation']): FitData {
    if (validation || !(this.params.validationFraction > 0)) return { trX: X, trY: y, sel: validation };
    const split = stratifiedSplit(y, this.params.validationFraction, this.seed);
    return {
      trX: takeRows(X, split.train),
      trY: takeLabels(y, split.train),
      sel: { X: takeRows(X, split.validation), y: takeLabels(y, split.validation) },
    };
  }

  /** Seeded PyTorch-style initial weights, flat (W1, b1, W2, b2). */
  private initialTheta(D: number): Float32Array {
    const L = mlpLayout(D, this.params.hidden, this.numClasses);
    const rng = new Prng(this.seed);
    const theta0 = new Float32Array(L.total);
    torchLinearInit(theta0, L.w1, L.b1, D, this.params.hidden, rng);
    torchLinearInit(theta0, L.w2, L.b2, this.params.hidden, this.numClasses, rng);
    return theta0;
  }

  /**
   * onnxruntime when it loads, else TensorFlow.js. Each bias rides as the last row of its weight matrix
   * (inputs get a constant 1 column): [W1; b1] is [(D+1) x H] and [W2; b2] is [(H+1) x C], which is also
   * the flat layout of theta. Fewer, larger tensors matter because tfjs costs a fixed overhead per op.
   */
  private async startEngine(data: FitData, theta0: Float32Array, tf: Tf, backend: string): Promise<MlpEngine> {
    const L = mlpLayout(data.trX.cols, this.params.hidden, this.numClasses);
    const p = this.params;
    const adam: AdamConfig = { lr: p.lr, ...ADAM };
    const w1 = theta0.subarray(L.w1, L.w2);
    const w2 = theta0.subarray(L.w2, L.total);
    const onnx = await OnnxMlpTrainer.create(data.trX, data.trY, p.hidden, this.numClasses, p.batchSize, adam, w1, w2);
    return onnx ?? new TfjsMlpTrainer(tf, backend, data.trX, data.trY, p.hidden, this.numClasses, p.batchSize, adam, w1, w2);
  }

  /** Trains every epoch (reshuffled with a seeded PRNG), logging each; returns the kept (best) weights. */
  private async trainEpochs(engine: MlpEngine, data: FitData, opts: FitOptions): Promise<Float32Array | null> {
    const { trX, trY, sel } = data;
    const D = trX.cols;
    const L = mlpLayout(D, this.params.hidden, this.numClasses);
    const shuffle = new Prng(this.seed ^ 0x2545f491);
    let best: Float32Array | null = null;
    let bestAcc = -1;
    for (let epoch = 1; epoch <= this.params.epochs; epoch++) {
      const perm = permutation(trX.rows, shuffle);
      const log: EpochLog & { loss: number; accuracy: number } = { epoch, ...this.tally(await engine.epoch(perm, opts.signal), perm, trY) };
      const snapshot = new Float32Array(L.total);
      engine.weights().forEach((w, i) => snapshot.set(w, i === 0 ? L.w1 : L.w2));
      if (sel && sel.X.rows > 0) {
        const ev = this.score(await engine.proba(sel.X), sel.y);
        log.val_loss = ev.loss;
        log.val_accuracy = ev.accuracy;
        if (ev.accuracy > bestAcc) {
          bestAcc = ev.accuracy;
          best = Float32Array.from(snapshot);
          this.bestEpoch = epoch;
        }
      } else {
        best = Float32Array.from(snapshot);
        this.bestEpoch = epoch;
      }
      opts.onEpoch?.(log);
      opts.onProgress?.(epoch, this.params.epochs, 'epoch');
    }
    return best;
  }

  /** Mean training loss and accuracy of an epoch from the log-probabilities of its rows (in perm order). */
  private tally(lp: Float32Array, perm: Int32Array, trY: Int32Array): { loss: number; accuracy: number } {
    const C = this.numClasses;
    const N = perm.length;
    let lossSum = 0;
    let correct = 0;
    for (let i = 0; i < N; i++) {
      let arg = 0;
      for (let c = 1; c < C; c++) if (lp[i * C + c]! > lp[i * C + arg]!) arg = c;
      const label = trY[perm[i]!]!;
      lossSum -= lp[i * C + label]!;
      if (arg === label) correct++;
    }
    return { loss: lossSum / N, accuracy: correct / N };
  }

  /** Mean cross-entropy and accuracy of the probabilities P for labels y (float64 accumulation). */
  private score(P: Matrix, y: Int32Array): { loss: number; accuracy: number } {
    const C = this.numClasses;
    let loss = 0;
    let ok = 0;
    const pred = argmaxRows(P);
    for (let i = 0; i < P.rows; i++) {
      loss -= Math.log(Math.max(P.data[i * C + y[i]!]!, 1e-30));
      if (pred[i] === y[i]) ok++;
    }
    return { loss: loss / P.rows, accuracy: ok / P.rows };
  }

  /** Softmax probabilities for X, in row blocks on TensorFlow.js. */
  private async forward(theta: Float32Array, X: Matrix, D: number): Promise<Matrix> {
    const { tf } = await initTf();
    return forwardTf(tf, theta, X, D, this.params.hidden, this.numClasses);
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (!this.theta) throw new LabError('invalid_input', 'mlp: the classifier is not fitted.');
    if (X.cols !== this.dim) throw new LabError('invalid_input', `mlp: expected ${this.dim} features, got ${X.cols}.`);
    return await this.forward(this.theta, X, this.dim);
  }

  async predict(X: Matrix): Promise<Int32Array> {
    return argmaxRows(await this.predictProba(X));
  }

  /** The fitted net as an ONNX head (see onnx-head.ts). */
  onnxHead(io: HeadIo): HeadGraph {
    if (!this.theta) throw new LabError('invalid_input', 'mlp: the classifier is not fitted.');
    return mlpHead(io, this.theta, this.dim, this.params.hidden, this.numClasses);
  }

  toJSON(): SavedModel {
    if (!this.theta) throw new LabError('invalid_input', 'mlp: cannot save an unfitted classifier.');
    return {
      kind: 'mlp',
      version: 1,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: { theta: this.theta, bestEpoch: this.bestEpoch, seed: this.seed },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): MlpClassifier {
    const c = new MlpClassifier(saved.params as unknown as MlpParams, { numClasses: saved.numClasses, seed: (saved.state.seed as number) ?? 0 });
    c.theta = stateF32(saved.state.theta);
    c.bestEpoch = (saved.state.bestEpoch as number) ?? 0;
    c.dim = saved.dim;
    return c;
  }
}
