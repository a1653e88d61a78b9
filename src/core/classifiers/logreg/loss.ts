/**
 * The loss and gradient of multinomial logistic regression, the products L-BFGS asks for at every step:
 *   logits = Z W + b, f = mean over the chosen rows of -log softmax(logits)[y], g = Z^T (P - Y) / n, sum(P - Y) / n.
 * On onnxruntime's CPU Gemm (both cores; Z^T D by Gemm's transA, no transposed copy; the features are
 * passed without a copy) where it loads, else on TensorFlow.js. One engine is prepared per data and row
 * subset and serves every fit on it (the whole C grid), so the features are handed over once.
 * The rows a fit uses are given as weights: the C search fits on the training part of the split by
 * weighing the validation rows 0, instead of copying the training rows out (527 MB at 45,000 x 3,072).
 */
import { type ModelDef, i64Tensor, OnnxType, type ValueInfo } from '../../onnx/onnx-writer';
import { cpuGraphSession, loadOrt } from '../../onnx/ort';
import { takeLabels, takeRows, type Matrix } from '../../math/matrix';
import type { initTf } from '../tf-backend';

type Tf = Awaited<ReturnType<typeof initTf>>['tf'];
type Session = import('onnxruntime-node').InferenceSession;

/** The log-loss and its gradient at (W, b) over the prepared rows (the L2 term is added by the caller). */
export interface LossGrad {
  /** 'onnxruntime-cpu' or the TensorFlow.js backend's name. */
  readonly engine: string;
  /** Rows the mean is over. */
  readonly rows: number;
  eval(W: Float32Array, b: Float32Array): Promise<{ f: number; gW: Float32Array; gb: Float32Array }>;
  dispose(): void;
}

let sessionPromise: Promise<Session | null> | null = null;

/** The onnxruntime session of the loss and gradient, or null when onnxruntime cannot run it. */
function lossSession(): Promise<Session | null> {
  const f = (name: string, shape: (number | string)[]): ValueInfo => ({ name, type: OnnxType.FLOAT, shape });
  sessionPromise ??= cpuGraphSession((): ModelDef => ({
      // Z [n, D] features, W [D, K], b [K], Y [n, K] one-hot labels, w [n, 1] row weights (1/rows used, 0 left out).
      inputs: [f('Z', ['N', 'D']), f('W', ['D', 'K']), f('b', ['K']), f('Y', ['N', 'K']), f('w', ['N', 1])],
      outputs: [f('loss', []), f('gW', ['D', 'K']), f('gb', ['K'])],
      initializers: [i64Tensor('axis0', [1], [0])],
      nodes: [
        { op: 'Gemm', inputs: ['Z', 'W', 'b'], outputs: ['logits'] },
        { op: 'LogSoftmax', inputs: ['logits'], outputs: ['logp'], attrs: { axis: { i: 1 } } },
        { op: 'Exp', inputs: ['logp'], outputs: ['p'] },
        { op: 'Sub', inputs: ['p', 'Y'], outputs: ['diff'] },
        { op: 'Mul', inputs: ['diff', 'w'], outputs: ['dw'] },
        { op: 'Gemm', inputs: ['Z', 'dw'], outputs: ['gW'], attrs: { transA: { i: 1 } } },
        { op: 'ReduceSum', inputs: ['dw', 'axis0'], outputs: ['gb'], attrs: { keepdims: { i: 0 } } },
        { op: 'Mul', inputs: ['Y', 'logp'], outputs: ['ylogp'] },
        { op: 'Mul', inputs: ['ylogp', 'w'], outputs: ['wylogp'] },
        { op: 'ReduceSum', inputs: ['wylogp'], outputs: ['negloss'], attrs: { keepdims: { i: 0 } } },
        { op: 'Neg', inputs: ['negloss'], outputs: ['loss'] },
      ],
      graphName: 'logreg_loss_grad',
      opset: 17,
    }));
  return sessionPromise;
}

/** Whether onnxruntime can run the loss (else TensorFlow.js does). */
export async function onnxLossAvailable(): Promise<boolean> {
  return (await lossSession()) !== null;
}

/** One-hot labels as float32 [n, K]. */
function oneHot(y: Int32Array, K: number): Float32Array {
  const Y = new Float32Array(y.length * K);
  for (let i = 0; i < y.length; i++) Y[i * K + y[i]!] = 1;
  return Y;
}

/**
 * The loss and gradient over `rows` of (Z, y) (all rows when null) on onnxruntime where it loads, else on
 * TensorFlow.js (`tf`, initialised by the caller).
 */
export async function prepareLossGrad(tf: Tf | null, Z: Matrix, y: Int32Array, K: number, rows: Int32Array | null): Promise<LossGrad> {
  const session = await lossSession();
  const ort = session ? await loadOrt() : null;
  if (session && ort) {
    const n = Z.rows;
    const D = Z.cols;
    const used = rows ? rows.length : n;
    const w = new Float32Array(n);
    if (rows) for (const r of rows) w[r] = 1 / used;
    else w.fill(1 / used);
    const feeds = {
      Z: new ort.Tensor('float32', Z.data, [n, D]),
      Y: new ort.Tensor('float32', oneHot(y, K), [n, K]),
      w: new ort.Tensor('float32', w, [n, 1]),
    };
    return {
      engine: 'onnxruntime-cpu',
      rows: used,
      async eval(W, b) {
        const out = await session.run({ ...feeds, W: new ort.Tensor('float32', W, [D, K]), b: new ort.Tensor('float32', b, [K]) });
        return { f: (out.loss!.data as Float32Array)[0]!, gW: out.gW!.data as Float32Array, gb: out.gb!.data as Float32Array };
      },
      dispose() {
        /* the feeds wrap JavaScript arrays: nothing native to free */
      },
    };
  }
  if (!tf) throw new Error('logreg: neither onnxruntime nor TensorFlow.js is available.');
  return tfLossGrad(tf, rows ? takeRows(Z, rows) : Z, rows ? takeLabels(y, rows) : y, K);
}

/** The TensorFlow.js engine (where onnxruntime is absent): the rows copied in once, X^T kept as its own tensor. */
export function tfLossGrad(tf: Tf, X: Matrix, y: Int32Array, K: number): LossGrad {
  const n = X.rows;
  const D = X.cols;
  const Xt = tf.tensor2d(X.data, [n, D]);
  // X^T kept as its own tensor: tfjs-wasm's matMul with a transposed operand is ~10x slower than a plain one.
  const XtT = tf.tidy(() => tf.transpose(Xt));
  const Yt = tf.tidy(() => tf.oneHot(tf.tensor1d(y, 'int32'), K).toFloat());
  return {
    engine: tf.getBackend(),
    rows: n,
    async eval(W, b) {
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
      return { f: lv[0]!, gW: gWv as Float32Array, gb: gbv as Float32Array };
    },
    dispose() {
      Xt.dispose();
      XtT.dispose();
      Yt.dispose();
    },
  };
}
