import type { MlpParams } from '../../shared/classifier-params';
import { LabError, throwIfAborted } from '../errors';
import { OnnxMlpTrainer } from './mlp-onnx';
import { Prng, permutation, stratifiedSplit, takeLabels, takeRows } from './prng';
import { initTf } from './tf-backend';
import { argmaxRows, b64ToF32, f32ToB64, type Classifier, type FitOptions, type Matrix, type SavedModel } from './types';

type Tf = Awaited<ReturnType<typeof initTf>>['tf'];
type Tensor2 = ReturnType<Tf['tensor2d']>;

/** Layout of the flat parameter vector: W1 [D x H], b1 [H], W2 [H x C], b2 [C]. */
function layout(D: number, H: number, C: number): { w1: number; b1: number; w2: number; b2: number; total: number } {
  const w1 = 0;
  const b1 = D * H;
  const w2 = b1 + H;
  const b2 = w2 + H * C;
  return { w1, b1, w2, b2, total: b2 + C };
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
 * about 5x faster than tfjs-wasm), else on TensorFlow.js (best backend present); `engine` records which one.
 * The recipe, identical on both engines:
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
  private theta: Float32Array | null = null;
  private dim = 0;
  /** The 1-based epoch whose weights were kept. */
  bestEpoch = 0;
  /** The engine the last fit trained on: 'onnxruntime-cpu' or 'tfjs-<backend>' (null before fit). */
  engine: string | null = null;

  /** The engine, under the name runs read for the backend of a classifier (see svc's backendInfo). */
  get backendInfo(): string {
    return this.engine ?? 'js';
  }

  constructor(
    readonly params: MlpParams,
    readonly numClasses: number,
    private readonly seed: number = 0,
  ) {}

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    if (X.rows !== y.length) throw new LabError('invalid_input', `mlp: ${X.rows} rows but ${y.length} labels.`);
    if (X.rows === 0) throw new LabError('invalid_input', 'mlp: no training rows.');
    const p = this.params;
    if (p.selectOn === 'test' && !opts.validation) {
      throw new LabError('invalid_input', "mlp: selectOn 'test' needs the test set passed as the validation data.");
    }
    const { tf, backend } = await initTf();
    let trX = X;
    let trY = y;
    let sel = opts.validation;
    if (!sel && p.validationFraction > 0) {
      const split = stratifiedSplit(y, p.validationFraction, this.seed);
      trX = takeRows(X, split.train);
      trY = takeLabels(y, split.train);
      sel = { X: takeRows(X, split.validation), y: takeLabels(y, split.validation) };
    }
    const D = X.cols;
    const H = p.hidden;
    const C = this.numClasses;
    const L = layout(D, H, C);
    this.dim = D;
    const rng = new Prng(this.seed);
    const theta0 = new Float32Array(L.total);
    torchLinearInit(theta0, L.w1, L.b1, D, H, rng);
    torchLinearInit(theta0, L.w2, L.b2, H, C, rng);

    const b1 = 0.9;
    const b2 = 0.999;
    const eps = 1e-8;
    const onnx = await OnnxMlpTrainer.create(trX, trY, H, C, p.batchSize, { lr: p.lr, b1, b2, eps }, theta0.subarray(L.w1, L.w2), theta0.subarray(L.w2, L.total));
    this.engine = onnx ? onnx.engine : `tfjs-${backend}`;
    // Each bias rides as the last row of its weight matrix (inputs get a constant 1 column): [W1; b1] is
    // [(D+1) x H] and [W2; b2] is [(H+1) x C], which is also the flat layout of toJSON's theta. Fewer, larger
    // tensors matter because tfjs costs a fixed overhead per op; tfjs-wasm's Slice is slow, so nothing is
    // sliced out of a flat vector on the device.
    const shapes: [number, number][] = [
      [D + 1, H],
      [H + 1, C],
    ];
    const offsets = [L.w1, L.w2];
    // On onnxruntime, the tfjs state below stays empty.
    let params: Tensor2[] = onnx ? [] : shapes.map((sh, i) => tf.tensor2d(theta0.slice(offsets[i]!, offsets[i]! + sh[0] * sh[1]), sh));
    let ms: Tensor2[] = onnx ? [] : shapes.map((sh) => tf.zeros(sh));
    let vs: Tensor2[] = onnx ? [] : shapes.map((sh) => tf.zeros(sh));
    // Constants as tensors made once: a JS number operand becomes a fresh scalar tensor on every op.
    const kB1 = tf.scalar(b1);
    const k1B1 = tf.scalar(1 - b1);
    const kB2 = tf.scalar(b2);
    const k1B2 = tf.scalar(1 - b2);
    const kEps = tf.scalar(eps);
    const consts = [kB1, k1B1, kB2, k1B2, kEps];
    let best: Float32Array | null = null;
    let bestAcc = -1;
    let step = 0;
    const N = trX.rows;
    const B = p.batchSize;
    const De = D + 1;
    const xb = new Float32Array(B * De);
    // tfjs-wasm's matMul with a transposed operand is about 10x slower than a plain one, so the batch is also
    // uploaded transposed (built here in JS) and the other transposes are explicit, cheap tf.transpose calls.
    const xbT = new Float32Array(B * De);
    const yb = new Float32Array(B * C);
    const shuffle = new Prng(this.seed ^ 0x2545f491);
    const readTheta = (): Float32Array => {
      const out = new Float32Array(L.total);
      if (onnx) onnx.weights().forEach((w, i) => out.set(w, offsets[i]!));
      else params.forEach((t, i) => out.set(t.dataSync() as Float32Array, offsets[i]!));
      return out;
    };
    /** One Adam step of the tfjs engine on the batch in xb/xbT/yb; returns its log-probabilities. */
    const tfStep = (nb: number, bc1: number, bc2: number): Float32Array => {
      for (let i = 0; i < nb; i++) for (let j = 0; j < De; j++) xbT[j * nb + i] = xb[i * De + j]!;
      const out = tf.tidy(() => {
        const xt = tf.tensor2d(xb.slice(0, nb * De), [nb, De]);
        const xtT = tf.tensor2d(xbT.slice(0, nb * De), [De, nb]);
        const yt = tf.tensor2d(yb.slice(0, nb * C), [nb, C]);
        const [W1, W2] = params as [Tensor2, Tensor2];
        const a1 = tf.relu(tf.matMul(xt, W1));
        const a1e = tf.concat([a1, tf.ones([nb, 1])], 1);
        const logp = tf.logSoftmax(tf.matMul(a1e, W2));
        const dz2 = tf.mul(tf.sub(tf.exp(logp), yt), tf.scalar(1 / nb));
        const gW2 = tf.matMul(tf.transpose(a1e), dz2);
        const da1 = tf.slice(tf.matMul(dz2, tf.transpose(W2)), [0, 0], [nb, H]);
        const dz1 = tf.mul(da1, tf.step(a1));
        const gW1 = tf.matMul(xtT, dz1);
        const kStep = tf.scalar(p.lr / bc1);
        const kInvBc2 = tf.scalar(1 / Math.sqrt(bc2));
        const np: Tensor2[] = [];
        const nm: Tensor2[] = [];
        const nv: Tensor2[] = [];
        [gW1, gW2].forEach((g, i) => {
          const m2 = tf.add(tf.mul(ms[i]!, kB1), tf.mul(g, k1B1)) as Tensor2;
          const v2 = tf.add(tf.mul(vs[i]!, kB2), tf.mul(tf.square(g), k1B2)) as Tensor2;
          // PyTorch: param -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
          const denom = tf.add(tf.mul(tf.sqrt(v2), kInvBc2), kEps);
          np.push(tf.sub(params[i]!, tf.mul(tf.div(m2, denom), kStep)) as Tensor2);
          nm.push(m2);
          nv.push(v2);
        });
        return { np, nm, nv, logp };
      });
      for (const t of [...params, ...ms, ...vs]) t.dispose();
      params = out.np;
      ms = out.nm;
      vs = out.nv;
      const lp = out.logp.dataSync() as Float32Array;
      out.logp.dispose();
      return lp;
    };
    try {
      for (let epoch = 1; epoch <= p.epochs; epoch++) {
        const perm = permutation(N, shuffle);
        let lossSum = 0;
        let correct = 0;
        /** Adds the loss and hits of the rows perm[s0 ..] from their log-probabilities lp (in JS: cheaper than graph ops). */
        const tally = (lp: Float32Array, s0: number, nb: number): void => {
          for (let i = 0; i < nb; i++) {
            let arg = 0;
            for (let c = 1; c < C; c++) if (lp[i * C + c]! > lp[i * C + arg]!) arg = c;
            const label = trY[perm[s0 + i]!]!;
            lossSum -= lp[i * C + label]!;
            if (arg === label) correct++;
          }
        };
        if (onnx) {
          // Yields to the event loop between its runs, so a cancel can land during the epoch.
          tally(await onnx.epoch(perm, opts.signal), 0, N);
        } else {
          for (let s = 0; s < N; s += B) {
            if ((s / B) % 64 === 0) {
              throwIfAborted(opts.signal);
              // Yield so an abort from the event loop (a cancel message) can land during a long epoch.
              await new Promise<void>((r) => setImmediate(r));
              throwIfAborted(opts.signal);
            }
            const nb = Math.min(B, N - s);
            yb.fill(0);
            for (let i = 0; i < nb; i++) {
              const r = perm[s + i]!;
              xb.set(trX.data.subarray(r * D, (r + 1) * D), i * De);
              xb[i * De + D] = 1;
              yb[i * C + trY[r]!] = 1;
            }
            step++;
            tally(tfStep(nb, 1 - b1 ** step, 1 - b2 ** step), s, nb);
          }
        }
        const log: { epoch: number; loss: number; accuracy: number; val_loss?: number; val_accuracy?: number } = {
          epoch,
          loss: lossSum / N,
          accuracy: correct / N,
        };
        const snapshot = readTheta();
        if (sel && sel.X.rows > 0) {
          const ev = await this.evaluate(snapshot, sel.X, sel.y, D, H, C);
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
        opts.onProgress?.(epoch, p.epochs, 'epoch');
      }
    } finally {
      for (const t of [...params, ...ms, ...vs, ...consts]) t.dispose();
      await onnx?.dispose();
    }
    this.theta = best;
  }

  /** Mean cross-entropy and accuracy of the weights `theta` on (X, y) (float64 accumulation). */
  private async evaluate(theta: Float32Array, X: Matrix, y: Int32Array, D: number, H: number, C: number): Promise<{ loss: number; accuracy: number }> {
    const P = await this.forward(theta, X, D, H, C);
    let loss = 0;
    let ok = 0;
    const pred = argmaxRows(P);
    for (let i = 0; i < X.rows; i++) {
      loss -= Math.log(Math.max(P.data[i * C + y[i]!]!, 1e-30));
      if (pred[i] === y[i]) ok++;
    }
    return { loss: loss / X.rows, accuracy: ok / X.rows };
  }

  /** Softmax probabilities for X, in row blocks on TensorFlow.js. */
  private async forward(theta: Float32Array, X: Matrix, D: number, H: number, C: number): Promise<Matrix> {
    const { tf } = await initTf();
    const L = layout(D, H, C);
    const out = new Float32Array(X.rows * C);
    const [W1, B1, W2, B2] = [
      tf.tensor2d(theta.subarray(L.w1, L.b1), [D, H]),
      tf.tensor1d(theta.subarray(L.b1, L.w2)),
      tf.tensor2d(theta.subarray(L.w2, L.b2), [H, C]),
      tf.tensor1d(theta.subarray(L.b2, L.total)),
    ];
    try {
      const block = 4096;
      for (let s = 0; s < X.rows; s += block) {
        const n = Math.min(block, X.rows - s);
        const pr = tf.tidy(() => {
          const x = tf.tensor2d(X.data.subarray(s * D, (s + n) * D), [n, D]);
          const a1 = tf.fused.matMul({ a: x, b: W1, bias: B1, activation: 'relu' });
          return tf.softmax(tf.fused.matMul({ a: a1, b: W2, bias: B2 }));
        });
        out.set(await pr.data<'float32'>(), s * C);
        pr.dispose();
      }
    } finally {
      for (const t of [W1, B1, W2, B2]) t.dispose();
    }
    // float32 softmax rows can miss 1 by a few ulps; renormalise so they sum to 1.
    for (let i = 0; i < X.rows; i++) {
      let sum = 0;
      for (let c = 0; c < C; c++) sum += out[i * C + c]!;
      for (let c = 0; c < C; c++) out[i * C + c] = out[i * C + c]! / sum;
    }
    return { rows: X.rows, cols: C, data: out };
  }

  async predictProba(X: Matrix): Promise<Matrix> {
    if (!this.theta) throw new LabError('invalid_input', 'mlp: the classifier is not fitted.');
    if (X.cols !== this.dim) throw new LabError('invalid_input', `mlp: expected ${this.dim} features, got ${X.cols}.`);
    return await this.forward(this.theta, X, this.dim, this.params.hidden, this.numClasses);
  }

  async predict(X: Matrix): Promise<Int32Array> {
    return argmaxRows(await this.predictProba(X));
  }

  toJSON(): SavedModel {
    if (!this.theta) throw new LabError('invalid_input', 'mlp: cannot save an unfitted classifier.');
    return {
      kind: 'mlp',
      version: 1,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: { theta: f32ToB64(this.theta), bestEpoch: this.bestEpoch, seed: this.seed },
    };
  }

  /** Rebuilds a fitted classifier from toJSON() output. */
  static load(saved: SavedModel): MlpClassifier {
    const c = new MlpClassifier(saved.params as unknown as MlpParams, saved.numClasses, (saved.state.seed as number) ?? 0);
    c.theta = b64ToF32(saved.state.theta as string);
    c.bestEpoch = (saved.state.bestEpoch as number) ?? 0;
    c.dim = saved.dim;
    return c;
  }
}
