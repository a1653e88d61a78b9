/**
 * The dense nets' TensorFlow.js engine (mlp and keras, used when onnxruntime-node cannot load, or with
 * DINOLAB_MLP_ENGINE=tfjs), and the TensorFlow.js forward pass both engines predict with. Same maths as
 * mlp-onnx.ts: biases folded in as the last row of each weight matrix, hand-written gradients, Adam with
 * eps added to sqrt(v_hat) (PyTorch's rule, and tfjs's AdamOptimizer's), optionally Keras's probability clip.
 */
import { throwIfAborted } from '../../errors';
import type { Matrix } from '../../math/matrix';
import { renormalizeRowsInPlace } from '../../math/normalize';
import type { Tf } from '../tf-backend';
import type { AdamConfig, MlpEngine, TrainerOptions } from './engine';

type Tensor2 = ReturnType<Tf['tensor2d']>;
type Scalar = ReturnType<Tf['scalar']>;

/** Layout of the flat parameter vector: W1 [D x H], b1 [H], W2 [H x C], b2 [C]. */
export function mlpLayout(D: number, H: number, C: number): { w1: number; b1: number; w2: number; b2: number; total: number } {
  const w1 = 0;
  const b1 = D * H;
  const w2 = b1 + H;
  const b2 = w2 + H * C;
  return { w1, b1, w2, b2, total: b2 + C };
}

/** Trains the mlp with TensorFlow.js ops, one batch per step. */
export class TfjsMlpTrainer implements MlpEngine {
  readonly engine: string;
  private params: Tensor2[];
  private ms: Tensor2[];
  private vs: Tensor2[];
  /** Constants as tensors made once: a JS number operand becomes a fresh scalar tensor on every op. */
  private readonly consts: { kB1: Scalar; k1B1: Scalar; kB2: Scalar; k1B2: Scalar; kEps: Scalar };
  private step = 0;
  private readonly De: number;
  private readonly xb: Float32Array;
  // tfjs-wasm's matMul with a transposed operand is about 10x slower than a plain one, so the batch is also
  // uploaded transposed (built here in JS) and the other transposes are explicit, cheap tf.transpose calls.
  private readonly xbT: Float32Array;
  private readonly yb: Float32Array;

  /** w1 = [W1; b1] ((D+1) x H), w2 = [W2; b2] ((H+1) x C): the initial weights; moments start at zero. */
  constructor(
    private readonly tf: Tf,
    backend: string,
    private readonly X: Matrix,
    private readonly y: Int32Array,
    private readonly H: number,
    private readonly C: number,
    private readonly B: number,
    private readonly adam: AdamConfig,
    w1: Float32Array,
    w2: Float32Array,
    private readonly options: Pick<TrainerOptions, 'clip'> = {},
  ) {
    this.engine = `tfjs-${backend}`;
    const D = X.cols;
    this.De = D + 1;
    const shapes: [number, number][] = [
      [D + 1, H],
      [H + 1, C],
    ];
    this.params = [tf.tensor2d(w1.slice(), shapes[0]!), tf.tensor2d(w2.slice(), shapes[1]!)];
    this.ms = shapes.map((sh) => tf.zeros(sh));
    this.vs = shapes.map((sh) => tf.zeros(sh));
    const s = (v: number): Scalar => tf.scalar(v);
    this.consts = { kB1: s(adam.b1), k1B1: s(1 - adam.b1), kB2: s(adam.b2), k1B2: s(1 - adam.b2), kEps: s(adam.eps) };
    this.xb = new Float32Array(B * this.De);
    this.xbT = new Float32Array(B * this.De);
    this.yb = new Float32Array(B * C);
  }

  async epoch(perm: Int32Array, signal?: AbortSignal): Promise<Float32Array> {
    const { X, y, B, C, De, xb, yb } = this;
    const D = X.cols;
    const N = perm.length;
    const logp = new Float32Array(N * C);
    for (let s = 0; s < N; s += B) {
      if ((s / B) % 64 === 0) {
        throwIfAborted(signal);
        // Yield so an abort from the event loop (a cancel message) can land during a long epoch.
        await new Promise<void>((r) => setImmediate(r));
        throwIfAborted(signal);
      }
      const nb = Math.min(B, N - s);
      yb.fill(0);
      for (let i = 0; i < nb; i++) {
        const r = perm[s + i]!;
        xb.set(X.data.subarray(r * D, (r + 1) * D), i * De);
        xb[i * De + D] = 1;
        yb[i * C + y[r]!] = 1;
      }
      this.step++;
      logp.set(this.adamStep(nb, 1 - this.adam.b1 ** this.step, 1 - this.adam.b2 ** this.step), s * C);
    }
    return logp;
  }

  weights(): Float32Array[] {
    return this.params.map((t) => t.dataSync() as Float32Array);
  }

  async proba(X: Matrix): Promise<Matrix> {
    const [w1, w2] = this.weights() as [Float32Array, Float32Array];
    const theta = new Float32Array(w1.length + w2.length);
    theta.set(w1);
    theta.set(w2, w1.length);
    return await forwardTf(this.tf, theta, X, X.cols, this.H, this.C);
  }

  async dispose(): Promise<void> {
    const c = this.consts;
    for (const t of [...this.params, ...this.ms, ...this.vs, c.kB1, c.k1B1, c.kB2, c.k1B2, c.kEps]) t.dispose();
  }

  /** One Adam step on the batch in xb/xbT/yb; returns its log-probabilities. */
  private adamStep(nb: number, bc1: number, bc2: number): Float32Array {
    const { tf, xb, xbT, yb, De, C, H } = this;
    const { kB1, k1B1, kB2, k1B2, kEps } = this.consts;
    for (let i = 0; i < nb; i++) for (let j = 0; j < De; j++) xbT[j * nb + i] = xb[i * De + j]!;
    const out = tf.tidy(() => {
      const xt = tf.tensor2d(xb.slice(0, nb * De), [nb, De]);
      const xtT = tf.tensor2d(xbT.slice(0, nb * De), [De, nb]);
      const yt = tf.tensor2d(yb.slice(0, nb * C), [nb, C]);
      const [W1, W2] = this.params as [Tensor2, Tensor2];
      const a1 = tf.relu(tf.matMul(xt, W1));
      const a1e = tf.concat([a1, tf.ones([nb, 1])], 1);
      const logp = tf.logSoftmax(tf.matMul(a1e, W2));
      const prob = tf.exp(logp);
      let diff = tf.sub(prob, yt);
      const clip = this.options.clip;
      if (clip !== undefined) {
        // Keras: a row whose true-class probability is outside [clip, 1 - clip] passes no gradient.
        const py = tf.sum(tf.mul(prob, yt), 1, true);
        const keep = tf.cast(tf.logicalAnd(tf.greaterEqual(py, tf.scalar(clip)), tf.lessEqual(py, tf.scalar(1 - clip))), 'float32');
        diff = tf.mul(diff, keep);
      }
      const dz2 = tf.mul(diff, tf.scalar(1 / nb));
      const gW2 = tf.matMul(tf.transpose(a1e), dz2);
      const da1 = tf.slice(tf.matMul(dz2, tf.transpose(W2)), [0, 0], [nb, H]);
      const dz1 = tf.mul(da1, tf.step(a1));
      const gW1 = tf.matMul(xtT, dz1);
      const kStep = tf.scalar(this.adam.lr / bc1);
      const kInvBc2 = tf.scalar(1 / Math.sqrt(bc2));
      const np: Tensor2[] = [];
      const nm: Tensor2[] = [];
      const nv: Tensor2[] = [];
      [gW1, gW2].forEach((g, i) => {
        const m2 = tf.add(tf.mul(this.ms[i]!, kB1), tf.mul(g, k1B1)) as Tensor2;
        const v2 = tf.add(tf.mul(this.vs[i]!, kB2), tf.mul(tf.square(g), k1B2)) as Tensor2;
        // PyTorch: param -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
        const denom = tf.add(tf.mul(tf.sqrt(v2), kInvBc2), kEps);
        np.push(tf.sub(this.params[i]!, tf.mul(tf.div(m2, denom), kStep)) as Tensor2);
        nm.push(m2);
        nv.push(v2);
      });
      return { np, nm, nv, logp };
    });
    for (const t of [...this.params, ...this.ms, ...this.vs]) t.dispose();
    this.params = out.np;
    this.ms = out.nm;
    this.vs = out.nv;
    const lp = out.logp.dataSync() as Float32Array;
    out.logp.dispose();
    return lp;
  }
}

/** Softmax probabilities of the mlp with flat weights theta (layout W1, b1, W2, b2) for X, in row blocks. */
export async function forwardTf(tf: Tf, theta: Float32Array, X: Matrix, D: number, H: number, C: number): Promise<Matrix> {
  const { w1, b1, w2, b2, total } = mlpLayout(D, H, C);
  const out = new Float32Array(X.rows * C);
  const [W1, B1, W2, B2] = [
    tf.tensor2d(theta.subarray(w1, b1), [D, H]),
    tf.tensor1d(theta.subarray(b1, w2)),
    tf.tensor2d(theta.subarray(w2, b2), [H, C]),
    tf.tensor1d(theta.subarray(b2, total)),
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
  renormalizeRowsInPlace(out, X.rows, C);
  return { rows: X.rows, cols: C, data: out };
}
