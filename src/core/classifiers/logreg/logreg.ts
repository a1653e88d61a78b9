import { LabError, throwIfAborted } from '../../errors';
import type { HeadGraph, HeadIo } from '../head-graph';
import { logregHead } from './onnx-head';
import { lbfgs } from '../../math/lbfgs';
import { argmaxRows, takeLabels, takeRows, type Matrix } from '../../math/matrix';
import { columnStandardizer, softmaxRowsInPlace, standardizeRows } from '../../math/normalize';
import { stratifiedSplit } from '../../math/prng';
import { initTf, tfBackend } from '../tf-backend';
import { stateF32, type Classifier, type ClassifierContext, type FitOptions, type SavedModel } from '../types';
import type { LogregParams } from './params';

type Tf = Awaited<ReturnType<typeof initTf>>['tf'];

/** scikit-learn's lbfgs stopping tolerance (LogisticRegression tol=1e-4, on the gradient of the mean loss). */
const GTOL = 1e-4;

/**
 * Fits multinomial logistic regression with L2 exactly as scikit-learn's LogisticRegression(C, lbfgs):
 * minimises mean(logloss) + ||W||^2 / (2 C n), the intercept not penalised (the same minimiser as
 * C * sum(logloss) + 0.5 ||W||^2). Returns W [D x C] row-major and b [C].
 */
export async function fitMultinomial(
  tf: Tf,
  X: Matrix,
  y: Int32Array,
  numClasses: number,
  C: number,
  opts: { maxIter: number; gtol?: number; init?: Float64Array; signal?: AbortSignal },
): Promise<{ W: Float32Array; b: Float32Array; iterations: number; converged: boolean; theta: Float64Array }> {
  const D = X.cols;
  const K = numClasses;
  const n = X.rows;
  const Xt = tf.tensor2d(X.data, [n, D]);
  // X^T kept as its own tensor: tfjs-wasm's matMul with a transposed operand is ~10x slower than a plain one.
  const XtT = tf.tidy(() => tf.transpose(Xt));
  const Yt = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), K).toFloat());
  const l2 = 1 / (C * n);
  try {
    const fg = async (theta: Float64Array): Promise<{ f: number; g: Float64Array }> => {
      const W = Float32Array.from(theta.subarray(0, D * K));
      const b = Float32Array.from(theta.subarray(D * K));
      const [lossT, gW, gb] = tf.tidy(() => {
        const Wt = tf.tensor2d(W, [D, K]);
        const logits = tf.add(tf.matMul(Xt, Wt), tf.tensor1d(b));
        const logp = tf.logSoftmax(logits);
        const loss = tf.neg(tf.sum(tf.mul(Yt, logp))).div(n);
        const diff = tf.sub(tf.exp(logp), Yt).div(n);
        return [loss, tf.matMul(XtT, diff), tf.sum(diff, 0)];
      });
      const [lv, gWv, gbv] = await Promise.all([lossT.data(), gW.data(), gb.data()]);
      lossT.dispose();
      gW.dispose();
      gb.dispose();
      let reg = 0;
      const g = new Float64Array(theta.length);
      for (let i = 0; i < D * K; i++) {
        reg += theta[i]! * theta[i]!;
        g[i] = gWv[i]! + l2 * theta[i]!;
      }
      for (let k = 0; k < K; k++) g[D * K + k] = gbv[k]!;
      return { f: lv[0]! + 0.5 * l2 * reg, g };
    };
    const r = await lbfgs(fg, opts.init ?? new Float64Array(D * K + K), {
      maxIter: opts.maxIter,
      gtol: opts.gtol ?? GTOL,
      signal: opts.signal,
    });
    return {
      W: Float32Array.from(r.x.subarray(0, D * K)),
      b: Float32Array.from(r.x.subarray(D * K)),
      iterations: r.iterations,
      converged: r.converged,
      theta: r.x,
    };
  } finally {
    Xt.dispose();
    XtT.dispose();
    Yt.dispose();
  }
}

/**
 * The DINOv2 linear probe: features standardised with the training statistics, multinomial logistic
 * regression with L2. C is chosen on a seeded stratified validation split (validationFraction of train;
 * the first best C of the grid wins ties); then the model is refit on all training data with that C.
 * Standardisation statistics come from the whole training split (they carry no label information).
 * With validationFraction 0 or a one-value grid, the grid's first (or only) C is used without search.
 */
export class LogregClassifier implements Classifier<LogregParams> {
  readonly kind = 'logreg';
  private mean: Float32Array | null = null;
  private std: Float32Array | null = null;
  private W: Float32Array | null = null;
  private b: Float32Array | null = null;
  private dim = 0;
  /** The C the grid search chose. */
  chosenC: number | null = null;
  readonly numClasses: number;
  private readonly seed: number;

  constructor(
    readonly params: LogregParams,
    ctx: ClassifierContext,
  ) {
    this.numClasses = ctx.numClasses;
    this.seed = ctx.seed;
  }

  /** The TensorFlow.js backend its loss and gradient products run on. */
  get backend(): string {
    return tfBackend();
  }

  private standardize(X: Matrix): Matrix {
    return standardizeRows(X, this.mean!, this.std!);
  }

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    if (X.rows !== y.length) throw new LabError('invalid_input', `logreg: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'logreg: no training rows.');
    const { tf } = await initTf();
    const D = X.cols;
    this.dim = D;
    // StandardScaler's statistics (constant features stay unscaled); identity when standardize is off.
    ({ mean: this.mean, std: this.std } = columnStandardizer(X, this.params.standardize));
    const Z = this.standardize(X);
    const grid = this.params.cGrid;
    let bestC = grid[0]!;
    const total = grid.length + 1;
    if (grid.length > 1 && this.params.validationFraction > 0) {
      const split = stratifiedSplit(y, this.params.validationFraction, this.seed);
      const Ztr = takeRows(Z, split.train);
      const ytr = takeLabels(y, split.train);
      const Zva = takeRows(Z, split.validation);
      const yva = takeLabels(y, split.validation);
      let bestAcc = -1;
      // Warm start along the grid sorted by C: each fit starts from its weaker-regularised neighbour's optimum.
      const order = grid.map((c, i) => ({ c, i })).sort((a, b) => a.c - b.c);
      let init: Float64Array | undefined;
      const accByIndex = new Array<number>(grid.length);
      for (let s = 0; s < order.length; s++) {
        throwIfAborted(opts.signal);
        const { c, i } = order[s]!;
        const r = await fitMultinomial(tf, Ztr, ytr, this.numClasses, c, { maxIter: this.params.maxIter, init, signal: opts.signal });
        init = r.theta;
        const p = this.logitsArgmax(Zva, r.W, r.b);
        let ok = 0;
        for (let k = 0; k < yva.length; k++) if (p[k] === yva[k]) ok++;
        accByIndex[i] = yva.length ? ok / yva.length : 0;
        opts.onEpoch?.({ epoch: s + 1, C: c, val_accuracy: accByIndex[i], iterations: r.iterations });
        opts.onProgress?.(s + 1, total, 'grid');
      }
      for (let i = 0; i < grid.length; i++) {
        if (accByIndex[i]! > bestAcc) {
          bestAcc = accByIndex[i]!;
          bestC = grid[i]!;
        }
      }
    }
    throwIfAborted(opts.signal);
    const r = await fitMultinomial(tf, Z, y, this.numClasses, bestC, { maxIter: this.params.maxIter, signal: opts.signal });
    throwIfAborted(opts.signal);
    this.W = r.W;
    this.b = r.b;
    this.chosenC = bestC;
    opts.onProgress?.(total, total, 'refit');
  }

  private logits(Z: Matrix, W: Float32Array, b: Float32Array): Matrix {
    const K = this.numClasses;
    const D = Z.cols;
    const out = new Float32Array(Z.rows * K);
    const acc = new Float64Array(K);
    for (let i = 0; i < Z.rows; i++) {
      acc.set(b);
      const o = i * D;
      for (let j = 0; j < D; j++) {
        const v = Z.data[o + j]!;
        if (v === 0) continue;
        const wo = j * K;
        for (let k = 0; k < K; k++) acc[k] = acc[k]! + v * W[wo + k]!;
      }
      for (let k = 0; k < K; k++) out[i * K + k] = acc[k]!;
    }
    return { rows: Z.rows, cols: K, data: out };
  }

  private logitsArgmax(Z: Matrix, W: Float32Array, b: Float32Array): Int32Array {
    return argmaxRows(this.logits(Z, W, b));
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (!this.W || !this.b) throw new LabError('invalid_input', 'logreg: the classifier is not fitted.');
    if (X.cols !== this.dim) throw new LabError('invalid_input', `logreg: expected ${this.dim} features, got ${X.cols}.`);
    return softmaxRowsInPlace(this.logits(this.standardize(X), this.W, this.b));
  }

  async predict(X: Matrix): Promise<Int32Array> {
    return argmaxRows(await this.predictProba(X));
  }

  /** The fitted probe as an ONNX head (see onnx-head.ts). */
  onnxHead(io: HeadIo): HeadGraph {
    if (!this.W || !this.b || !this.mean || !this.std) throw new LabError('invalid_input', 'logreg: the classifier is not fitted.');
    return logregHead(io, { mean: this.mean, std: this.std, W: this.W, b: this.b, D: this.dim, K: this.numClasses });
  }

  /** Coefficients in scikit-learn's layout coef_[class][feature] (on standardised features) and intercept_. */
  coefficients(): { coef: number[][]; intercept: number[] } {
    if (!this.W || !this.b) throw new LabError('invalid_input', 'logreg: the classifier is not fitted.');
    const K = this.numClasses;
    const coef = Array.from({ length: K }, (_, k) => Array.from({ length: this.dim }, (_, j) => this.W![j * K + k]!));
    return { coef, intercept: Array.from(this.b) };
  }

  toJSON(): SavedModel {
    if (!this.W || !this.b || !this.mean || !this.std) throw new LabError('invalid_input', 'logreg: cannot save an unfitted classifier.');
    return {
      kind: 'logreg',
      version: 1,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: {
        W: this.W,
        b: this.b,
        mean: this.mean,
        std: this.std,
        chosenC: this.chosenC,
      },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): LogregClassifier {
    const c = new LogregClassifier(saved.params as unknown as LogregParams, { numClasses: saved.numClasses, seed: 0 });
    const s = saved.state;
    c.W = stateF32(s.W);
    c.b = stateF32(s.b);
    c.mean = stateF32(s.mean);
    c.std = stateF32(s.std);
    c.chosenC = (s.chosenC as number | null) ?? null;
    c.dim = saved.dim;
    return c;
  }
}
