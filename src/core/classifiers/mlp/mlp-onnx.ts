/**
 * The dense nets' training on onnxruntime's CPU provider (the mlp's PyTorch recipe, and the keras kind's
 * tfjs-layers recipe with its probability clip, see `clip`) (MLAS: AVX2/AVX-512 sgemm), several times faster per step
 * than single-threaded tfjs-wasm. The training step (forward pass, hand-written backward pass, PyTorch's Adam
 * for both layers) is one ONNX graph; an ONNX Loop runs it over up to STEPS_PER_RUN full batches per
 * session.run, gathering each batch from the training rows inside the graph, so the parameters and moments
 * (about 0.4 M floats) cross the JS boundary once per run instead of once per step (0.21-0.31 ms a step
 * instead of 0.42-0.5 ms). A last partial batch runs through the single-step graph.
 *
 * Same maths and float32 op order as the tfjs engine in mlp-tfjs.ts (biases folded in as the last row of each weight
 * matrix, the batch carries a constant 1 column):
 *   z1 = X W1, a1 = relu(z1), a1e = [a1, 1], logp = logSoftmax(a1e W2)
 *   dz2 = (exp(logp) - Y) / nb, gW2 = a1e^T dz2, dz1 = (dz2 W2^T)[:, :H] * step(a1), gW1 = X^T dz1
 *   m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, W -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * MLAS splits a matrix product over rows/columns, never over the reduction, so a run is deterministic for a
 * given thread count.
 */
import os from 'node:os';
import { throwIfAborted } from '../../errors';
import type { Matrix } from '../../math/matrix';
import { encodeModel, f32Tensor, i64Tensor, OnnxType, type GraphDef, type NodeDef, type OnnxElemType, type TensorDef, type ValueInfo } from '../../onnx/onnx-writer';
import { loadOrt, type Ort } from '../../onnx/ort';
import type { MlpEngine, TrainerOptions } from './engine';

type Session = import('onnxruntime-node').InferenceSession;
type OrtTensor = import('onnxruntime-node').Tensor;

const STATE = ['W1', 'W2', 'm1', 'm2', 'v1', 'v2'] as const;
const BOOL = 9 as OnnxElemType;

/**
 * The nodes of one training step. Local names go through `n` (a Loop body must not reuse outer names); the
 * step reads n('X'), n('Y'), n('<state>') and writes n('<state>_out'), n('logp'); invNb, kStep, kInvBc2 are
 * taken as given, and the constants are the graph's initializers.
 */
function stepNodes(n: (name: string) => string, invNb: string, kStep: string, kInvBc2: string, clip: boolean): NodeDef[] {
  // Keras's cross-entropy on softmax outputs (clip): a row whose true-class probability p_y lies outside
  // [clip, 1 - clip] gets no gradient (tfjs clips the probabilities, and a clipped value passes no gradient);
  // the kept rows' (p - y) is multiplied by exactly 1, so their bits do not change.
  const dz2In = clip ? n('diffk') : n('diff');
  const clipNodes: NodeDef[] = clip
    ? [
        { op: 'Mul', inputs: [n('prob'), n('Y')], outputs: [n('py_all')] },
        { op: 'ReduceSum', inputs: [n('py_all'), 'ax1'], outputs: [n('py')], attrs: { keepdims: { i: 1 } } },
        { op: 'GreaterOrEqual', inputs: [n('py'), 'kClipLo'], outputs: [n('above')] },
        { op: 'LessOrEqual', inputs: [n('py'), 'kClipHi'], outputs: [n('below')] },
        { op: 'And', inputs: [n('above'), n('below')], outputs: [n('keep')] },
        { op: 'Cast', inputs: [n('keep')], outputs: [n('keepF')], attrs: { to: { i: OnnxType.FLOAT } } },
        { op: 'Mul', inputs: [n('diff'), n('keepF')], outputs: [n('diffk')] },
      ]
    : [];
  const nodes: NodeDef[] = [
    // The constant 1 column of the batch doubles as the ones appended to the hidden activations.
    { op: 'Slice', inputs: [n('X'), 'colD', 'colD1', 'ax1'], outputs: [n('ones')] },
    { op: 'MatMul', inputs: [n('X'), n('W1')], outputs: [n('z1')] },
    { op: 'Relu', inputs: [n('z1')], outputs: [n('a1')] },
    { op: 'Concat', inputs: [n('a1'), n('ones')], outputs: [n('a1e')], attrs: { axis: { i: 1 } } },
    { op: 'MatMul', inputs: [n('a1e'), n('W2')], outputs: [n('z2')] },
    { op: 'LogSoftmax', inputs: [n('z2')], outputs: [n('logp')], attrs: { axis: { i: 1 } } },
    { op: 'Exp', inputs: [n('logp')], outputs: [n('prob')] },
    { op: 'Sub', inputs: [n('prob'), n('Y')], outputs: [n('diff')] },
    ...clipNodes,
    { op: 'Mul', inputs: [dz2In, invNb], outputs: [n('dz2')] },
    { op: 'Gemm', inputs: [n('a1e'), n('dz2')], outputs: [n('g2')], attrs: { transA: { i: 1 } } },
    { op: 'Slice', inputs: [n('W2'), 'zero', 'rowH', 'ax0'], outputs: [n('W2top')] },
    { op: 'Gemm', inputs: [n('dz2'), n('W2top')], outputs: [n('da1')], attrs: { transB: { i: 1 } } },
    // step(a1) = 1 where a1 > 0, else 0; Sign of a ReLU output is exactly that.
    { op: 'Sign', inputs: [n('a1')], outputs: [n('mask')] },
    { op: 'Mul', inputs: [n('da1'), n('mask')], outputs: [n('dz1')] },
    { op: 'Gemm', inputs: [n('X'), n('dz1')], outputs: [n('g1')], attrs: { transA: { i: 1 } } },
  ];
  for (const i of ['1', '2']) {
    const l = (x: string): string => n(`${x}${i}`);
    nodes.push(
      { op: 'Mul', inputs: [l('m'), 'kB1'], outputs: [l('ma')] },
      { op: 'Mul', inputs: [l('g'), 'k1B1'], outputs: [l('mb')] },
      { op: 'Add', inputs: [l('ma'), l('mb')], outputs: [n(`m${i}_out`)] },
      { op: 'Mul', inputs: [l('v'), 'kB2'], outputs: [l('va')] },
      { op: 'Mul', inputs: [l('g'), l('g')], outputs: [l('gsq')] },
      { op: 'Mul', inputs: [l('gsq'), 'k1B2'], outputs: [l('vb')] },
      { op: 'Add', inputs: [l('va'), l('vb')], outputs: [n(`v${i}_out`)] },
      { op: 'Sqrt', inputs: [n(`v${i}_out`)], outputs: [l('s')] },
      { op: 'Mul', inputs: [l('s'), kInvBc2], outputs: [l('sb')] },
      { op: 'Add', inputs: [l('sb'), 'kEps'], outputs: [l('den')] },
      { op: 'Div', inputs: [n(`m${i}_out`), l('den')], outputs: [l('r')] },
      { op: 'Mul', inputs: [l('r'), kStep], outputs: [l('u')] },
      { op: 'Sub', inputs: [l('W'), l('u')], outputs: [n(`W${i}_out`)] },
    );
  }
  return nodes;
}

function constants(D: number, H: number, b1: number, b2: number, eps: number, clip: number | undefined): TensorDef[] {
  const clipConsts = clip === undefined ? [] : [f32Tensor('kClipLo', [1], [clip]), f32Tensor('kClipHi', [1], [1 - clip])];
  return [
    ...clipConsts,
    f32Tensor('kB1', [1], [b1]),
    f32Tensor('k1B1', [1], [1 - b1]),
    f32Tensor('kB2', [1], [b2]),
    f32Tensor('k1B2', [1], [1 - b2]),
    f32Tensor('kEps', [1], [eps]),
    i64Tensor('colD', [1], [D]),
    i64Tensor('colD1', [1], [D + 1]),
    i64Tensor('zero', [1], [0]),
    i64Tensor('rowH', [1], [H]),
    i64Tensor('ax0', [1], [0]),
    i64Tensor('ax1', [1], [1]),
  ];
}

function stateInfo(D: number, H: number, C: number, suffix = '', prefix = ''): ValueInfo[] {
  const shapes: Record<string, [number, number]> = { '1': [D + 1, H], '2': [H + 1, C] };
  return STATE.map((k) => ({ name: `${prefix}${k}${suffix}`, type: OnnxType.FLOAT, shape: shapes[k[1]!]! }));
}

/**
 * The ONNX graph of one training step for Linear(D, H) -> ReLU -> Linear(H, C) with Adam (betas b1/b2, eps);
 * with `clip`, rows whose true-class probability is outside [clip, 1 - clip] pass no gradient (Keras).
 */
export function mlpTrainStepModel(D: number, H: number, C: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, clip?: number): Uint8Array {
  const F = OnnxType.FLOAT;
  return encodeModel({
    inputs: [
      ...stateInfo(D, H, C),
      { name: 'X', type: F, shape: ['nb', D + 1] },
      { name: 'Y', type: F, shape: ['nb', C] },
      { name: 'invNb', type: F, shape: [1] },
      { name: 'kStep', type: F, shape: [1] },
      { name: 'kInvBc2', type: F, shape: [1] },
    ],
    outputs: [...stateInfo(D, H, C, '_out'), { name: 'logp', type: F, shape: ['nb', C] }],
    initializers: constants(D, H, b1, b2, eps, clip),
    nodes: stepNodes((x) => x, 'invNb', 'kStep', 'kInvBc2', clip !== undefined),
    opset: 17,
  });
}

/**
 * The ONNX graph of `trip` full-batch (B rows) training steps in one Loop: the training rows Xall [N, D] and
 * their one-hot labels Yall [N, C] go in (onnxruntime reads input arrays in place); Perm [steps, B] (int64)
 * holds each step's row indices, KStep / KInvBc2 [steps] its Adam step size and 1 / sqrt(bc2). Outputs the
 * final state and logp [trip, B, C]. Bit-identical to `trip` runs of mlpTrainStepModel.
 */
export function mlpTrainLoopModel(D: number, H: number, C: number, B: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, clip?: number): Uint8Array {
  const F = OnnxType.FLOAT;
  const n = (x: string): string => `b_${x}`;
  const body: GraphDef = {
    inputs: [
      { name: n('iter'), type: OnnxType.INT64, shape: [] },
      { name: n('cond'), type: BOOL, shape: [] },
      ...stateInfo(D, H, C, '', 'b_'),
    ],
    outputs: [{ name: n('cond_out'), type: BOOL, shape: [] }, ...stateInfo(D, H, C, '_out', 'b_'), { name: n('logp'), type: F, shape: [B, C] }],
    nodes: [
      { op: 'Identity', inputs: [n('cond')], outputs: [n('cond_out')] },
      { op: 'Gather', inputs: ['Perm', n('iter')], outputs: [n('idx')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['Xall', n('idx')], outputs: [n('Xraw')], attrs: { axis: { i: 0 } } },
      { op: 'Concat', inputs: [n('Xraw'), 'onesB'], outputs: [n('X')], attrs: { axis: { i: 1 } } },
      { op: 'Gather', inputs: ['Yall', n('idx')], outputs: [n('Y')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['KStep', n('iter')], outputs: [n('kStep')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['KInvBc2', n('iter')], outputs: [n('kInvBc2')], attrs: { axis: { i: 0 } } },
      ...stepNodes(n, 'invNb', n('kStep'), n('kInvBc2'), clip !== undefined),
    ],
    graphName: 'step',
  };
  return encodeModel({
    inputs: [
      ...stateInfo(D, H, C),
      { name: 'Xall', type: F, shape: ['N', D] },
      { name: 'Yall', type: F, shape: ['N', C] },
      { name: 'Perm', type: OnnxType.INT64, shape: ['steps', B] },
      { name: 'KStep', type: F, shape: ['steps'] },
      { name: 'KInvBc2', type: F, shape: ['steps'] },
      { name: 'trip', type: OnnxType.INT64, shape: [] },
      { name: 'invNb', type: F, shape: [1] },
    ],
    outputs: [...stateInfo(D, H, C, '_out'), { name: 'logp', type: F, shape: ['trip', B, C] }],
    initializers: [
      ...constants(D, H, b1, b2, eps, clip),
      { name: 'condTrue', type: BOOL, dims: [], raw: Uint8Array.of(1) },
      f32Tensor('onesB', [B, 1], new Float32Array(B).fill(1)),
    ],
    nodes: [
      {
        op: 'Loop',
        inputs: ['trip', 'condTrue', ...STATE],
        outputs: [...STATE.map((k) => `${k}_out`), 'logp'],
        name: 'epoch',
        attrs: { body: { g: body } },
      },
    ],
    opset: 17,
  });
}

/**
 * Threads for a training session: half the cores, at most 4 (batch-64 products stop scaling there, and the
 * rest of the app keeps cores). On a shared 2-core machine one thread measured 0.31 ms a step, steady, and
 * two 0.21 to 0.71 ms as neighbours took CPU (a thread pool waits on its slowest member), so 2 cores -> 1.
 */
export function defaultThreads(): number {
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  return Math.max(1, Math.min(4, Math.floor(cores / 2)));
}

/** Full batches per onnxruntime run (about 15 ms each); cancellation is checked between runs. */
const STEPS_PER_RUN = 64;

/**
 * Trains a dense net (the mlp, the keras kind) on onnxruntime: full batches run STEPS_PER_RUN at a time through the Loop graph, a last partial
 * batch through the one-step graph. The parameters and Adam moments live in JS arrays between runs.
 */
export class OnnxMlpTrainer implements MlpEngine {
  readonly engine = 'onnxruntime-cpu';
  /** The current state: W1, W2 (weights with their bias rows), m1, m2, v1, v2 (Adam moments). */
  private state: Record<string, Float32Array>;
  private readonly shapes: Record<string, [number, number]>;
  /** One-hot training labels [N x C]. */
  private readonly Yall: Float32Array;
  private step = 0;

  private constructor(
    private readonly ort: Ort,
    private readonly loop: Session,
    private readonly single: Session,
    private readonly X: Matrix,
    y: Int32Array,
    H: number,
    private readonly C: number,
    private readonly B: number,
    private readonly adam: { lr: number; b1: number; b2: number },
    w1: Float32Array,
    w2: Float32Array,
  ) {
    const De = X.cols + 1;
    const He = H + 1;
    this.shapes = { W1: [De, H], m1: [De, H], v1: [De, H], W2: [He, C], m2: [He, C], v2: [He, C] };
    this.state = Object.fromEntries(STATE.map((n) => [n, new Float32Array(this.shapes[n]![0] * this.shapes[n]![1])]));
    this.state.W1!.set(w1);
    this.state.W2!.set(w2);
    this.Yall = new Float32Array(X.rows * C);
    for (let i = 0; i < X.rows; i++) this.Yall[i * C + y[i]!] = 1;
  }

  /**
   * A trainer on (X, y) with batch size B and Adam(lr, betas b1/b2, eps), starting from [W1; b1] ((D+1) x H)
   * and [W2; b2] ((H+1) x C) with zero moments; null when onnxruntime-node cannot be loaded or cannot build
   * the sessions (DINOLAB_MLP_ENGINE=tfjs also gives null, forcing the TensorFlow.js path of mlp and keras).
   */
  static async create(
    X: Matrix,
    y: Int32Array,
    H: number,
    C: number,
    B: number,
    adam: { lr: number; b1: number; b2: number; eps: number },
    w1: Float32Array,
    w2: Float32Array,
    options: TrainerOptions = {},
  ): Promise<OnnxMlpTrainer | null> {
    if (process.env.DINOLAB_MLP_ENGINE === 'tfjs') return null;
    const ort = await loadOrt();
    if (!ort) return null;
    try {
      const opts = {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all' as const,
        executionMode: 'sequential' as const,
        intraOpNumThreads: options.threads ?? defaultThreads(),
        interOpNumThreads: 1,
      };
      const D = X.cols;
      const loop = await ort.InferenceSession.create(mlpTrainLoopModel(D, H, C, B, adam.b1, adam.b2, adam.eps, options.clip), opts);
      const single = await ort.InferenceSession.create(mlpTrainStepModel(D, H, C, adam.b1, adam.b2, adam.eps, options.clip), opts);
      return new OnnxMlpTrainer(ort, loop, single, X, y, H, C, B, adam, w1, w2);
    } catch {
      return null;
    }
  }

  /**
   * One epoch over the rows in the order `perm` (batches of B, the last one partial). Returns the log-
   * probabilities of every row as it was trained ([N x C], in perm order). Throws LabError('cancelled') between
   * runs once `signal` is aborted.
   */
  async epoch(perm: Int32Array, signal?: AbortSignal): Promise<Float32Array> {
    const T = this.ort.Tensor;
    const { B, C } = this;
    const N = perm.length;
    const full = Math.floor(N / B);
    const logp = new Float32Array(N * C);
    const stateFeeds = (): Record<string, OrtTensor> =>
      Object.fromEntries(STATE.map((n) => [n, new T('float32', this.state[n]!, this.shapes[n]!)]));
    const takeState = (out: Record<string, OrtTensor>): void => {
      for (const n of STATE) this.state[n] = out[`${n}_out`]!.data as Float32Array;
    };
    const Xall = new T('float32', this.X.data, [this.X.rows, this.X.cols]);
    const Yall = new T('float32', this.Yall, [this.X.rows, C]);
    const invNb = new T('float32', Float32Array.of(1 / B), [1]);
    for (let s0 = 0; s0 < full; s0 += STEPS_PER_RUN) {
      throwIfAborted(signal);
      const k = Math.min(STEPS_PER_RUN, full - s0);
      const idx = new BigInt64Array(k * B);
      for (let i = 0; i < k * B; i++) idx[i] = BigInt(perm[s0 * B + i]!);
      const kStep = new Float32Array(k);
      const kInvBc2 = new Float32Array(k);
      for (let j = 0; j < k; j++) [kStep[j], kInvBc2[j]] = this.nextStep();
      const out = await this.loop.run({
        ...stateFeeds(),
        Xall,
        Yall,
        Perm: new T('int64', idx, [k, B]),
        KStep: new T('float32', kStep, [k]),
        KInvBc2: new T('float32', kInvBc2, [k]),
        trip: new T('int64', BigInt64Array.of(BigInt(k)), []),
        invNb,
      });
      takeState(out);
      logp.set(out.logp!.data as Float32Array, s0 * B * C);
    }
    const nb = N - full * B;
    if (nb > 0) {
      throwIfAborted(signal);
      const D = this.X.cols;
      const De = D + 1;
      const xb = new Float32Array(nb * De);
      const yb = new Float32Array(nb * C);
      for (let i = 0; i < nb; i++) {
        const r = perm[full * B + i]!;
        xb.set(this.X.data.subarray(r * D, (r + 1) * D), i * De);
        xb[i * De + D] = 1;
        yb.set(this.Yall.subarray(r * C, (r + 1) * C), i * C);
      }
      const [kStep, kInvBc2] = this.nextStep();
      const out = await this.single.run({
        ...stateFeeds(),
        X: new T('float32', xb, [nb, De]),
        Y: new T('float32', yb, [nb, C]),
        invNb: new T('float32', Float32Array.of(1 / nb), [1]),
        kStep: new T('float32', Float32Array.of(kStep), [1]),
        kInvBc2: new T('float32', Float32Array.of(kInvBc2), [1]),
      });
      takeState(out);
      logp.set(out.logp!.data as Float32Array, full * B * C);
    }
    return logp;
  }

  /** Advances the Adam step count; returns (lr / bc1, 1 / sqrt(bc2)) for the new step. */
  private nextStep(): [number, number] {
    this.step++;
    const { lr, b1, b2 } = this.adam;
    return [lr / (1 - b1 ** this.step), 1 / Math.sqrt(1 - b2 ** this.step)];
  }

  /** The current [W1; b1] and [W2; b2] (not copied; they are replaced, never written, by later steps). */
  weights(): [Float32Array, Float32Array] {
    return [this.state.W1!, this.state.W2!];
  }

  async dispose(): Promise<void> {
    await this.loop.release();
    await this.single.release();
  }
}
