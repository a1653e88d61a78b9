/**
 * The dense nets' training on onnxruntime's CPU provider (MLAS: AVX2/AVX-512 sgemm), several times faster
 * per step than single-threaded tfjs-wasm: the mlp's PyTorch recipe, and the keras kind's tfjs-layers recipe
 * (its probability clip: GraphConfig.clip). The training step (forward pass, hand-written backward pass, Adam
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
 * given thread count. With many inputs, layer 1's state is kept in row chunks so Adam runs in cache (see
 * ADAM_CHUNK_FLOATS in mlp-onnx-graphs.ts), bit-identical to the unchunked graph.
 */
import os from 'node:os';
import { throwIfAborted } from '../../errors';
import type { Matrix } from '../../math/matrix';
import { renormalizeRowsInPlace } from '../../math/normalize';
import { mlpForwardModel, mlpTrainLoopModel, mlpTrainStepModel, stateLayout, type GraphConfig } from './mlp-onnx-graphs';
import { loadOrt, type Ort } from '../../onnx/ort';
import type { MlpEngine, TrainerOptions } from './engine';

type Session = import('onnxruntime-node').InferenceSession;
type OrtTensor = import('onnxruntime-node').Tensor;
/** Rows per forward run of the validation pass (bounds its activations: 4,096 x H floats). */
const FORWARD_BLOCK = 4096;

/**
 * onnxruntime's session options for the training and forward sessions. set_denormal_as_zero (flush-to-zero,
 * denormals-are-zero): once keras's problem is solved, its clipped cross-entropy gives most rows exactly zero
 * gradient, so Adam's first moments decay by b1 = 0.9 a step into float32's subnormal range and stick there
 * (0.9 x 1.4e-45 rounds back to 1.4e-45); every step's Adam passes over layer 1 then take the CPU's slow
 * subnormal path. Measured on keras at 50,000 x 3,072 (quiet machine): epochs 1-17 at 4.4 s, then 9.3, 27
 * and 34 s from epoch 18 without the flag; 4.3-4.5 s throughout with it. Flushing changes only values below
 * 1.2e-38. onnxruntime applies it to a session's intra-op pool threads, and to the calling thread only from
 * the first session the process creates (std::call_once in InferenceSession::Initialize): in a training job's
 * own process these sessions are the first; where another session came first with one thread, it is not in
 * effect (slower, same results to within subnormals). Side effect: the calling thread keeps the flag after
 * training, so later float maths on it in the same process (JavaScript, tfjs-wasm, other sessions) also
 * flushes subnormals: in the demo experiment, logreg's stored probabilities below 1.2e-38 become 0 (its
 * metrics and accuracy are unchanged). An in-graph flush of Adam's first moments would avoid the leak.
 */
function sessionOptions(threads: number): import('onnxruntime-node').InferenceSession.SessionOptions {
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    extra: { session: { set_denormal_as_zero: '1' } },
  };
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
  /** The current state: W1, W2 (weights with their bias rows), m1, m2, v1, v2 (Adam moments); layer 1's maybe in row chunks. */
  private state: Record<string, Float32Array>;
  private readonly shapes: Record<string, [number, number]>;
  /** The state's names in the graphs' order (see stateLayout). */
  private readonly names: string[];
  /** Layer 1's state is in row chunks W1c0, W1c1, ... */
  private readonly chunked: boolean;
  /** One-hot training labels [N x C]. */
  private readonly Yall: Float32Array;
  private step = 0;

  private constructor(
    private readonly ort: Ort,
    private readonly loop: Session,
    private readonly single: Session,
    private readonly forward: Session,
    private readonly X: Matrix,
    y: Int32Array,
    private readonly H: number,
    private readonly C: number,
    private readonly B: number,
    private readonly adam: { lr: number; b1: number; b2: number },
    w1: Float32Array,
    w2: Float32Array,
    cfg: GraphConfig,
  ) {
    const layout = stateLayout(X.cols, H, C, cfg);
    this.names = layout.map((l) => l.name);
    this.shapes = Object.fromEntries(layout.map((l) => [l.name, l.shape]));
    this.state = Object.fromEntries(layout.map((l) => [l.name, new Float32Array(l.shape[0] * l.shape[1])]));
    this.chunked = !this.names.includes('W1');
    // [W1; b1] goes in row by row: its chunks are consecutive row ranges.
    let off = 0;
    for (const l of layout.filter((x) => x.name.startsWith('W1'))) {
      const len = l.shape[0] * l.shape[1];
      this.state[l.name]!.set(w1.subarray(off, off + len));
      off += len;
    }
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
      const opts = sessionOptions(options.threads ?? defaultThreads());
      const D = X.cols;
      const cfg: GraphConfig = { b1: adam.b1, b2: adam.b2, eps: adam.eps, clip: options.clip, chunkFloats: options.chunkFloats };
      const loop = await ort.InferenceSession.create(mlpTrainLoopModel(D, H, C, B, cfg), opts);
      const single = await ort.InferenceSession.create(mlpTrainStepModel(D, H, C, cfg), opts);
      const forward = await ort.InferenceSession.create(mlpForwardModel(D, H, C), opts);
      return new OnnxMlpTrainer(ort, loop, single, forward, X, y, H, C, B, adam, w1, w2, cfg);
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
      Object.fromEntries(this.names.map((n) => [n, new T('float32', this.state[n]!, this.shapes[n]!)]));
    const takeState = (out: Record<string, OrtTensor>): void => {
      for (const n of this.names) this.state[n] = out[`${n}_out`]!.data as Float32Array;
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

  /** The current [W1; b1] (put together from its chunks when chunked) and [W2; b2] (not copied; state arrays are replaced, never written, by later steps). */
  weights(): [Float32Array, Float32Array] {
    if (!this.chunked) return [this.state.W1!, this.state.W2!];
    const parts = this.names.filter((n) => n.startsWith('W1')).map((n) => this.state[n]!);
    const W1 = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let off = 0;
    for (const p of parts) {
      W1.set(p, off);
      off += p.length;
    }
    return [W1, this.state.W2!];
  }

  /** Softmax probabilities of the current weights for X, FORWARD_BLOCK rows per run (rows read in place). */
  async proba(X: Matrix): Promise<Matrix> {
    const T = this.ort.Tensor;
    const { H, C } = this;
    const D = X.cols;
    const [w1, w2] = this.weights();
    const W1 = new T('float32', w1, [D + 1, H]);
    const W2 = new T('float32', w2, [H + 1, C]);
    const out = new Float32Array(X.rows * C);
    for (let s = 0; s < X.rows; s += FORWARD_BLOCK) {
      const n = Math.min(FORWARD_BLOCK, X.rows - s);
      const r = await this.forward.run({ X: new T('float32', X.data.subarray(s * D, (s + n) * D), [n, D]), W1, W2 });
      out.set(r.P!.data as Float32Array, s * C);
    }
    // float32 softmax rows can miss 1 by a few ulps; renormalise so they sum to 1 (as forwardTf).
    renormalizeRowsInPlace(out, X.rows, C);
    return { rows: X.rows, cols: C, data: out };
  }

  async dispose(): Promise<void> {
    await this.loop.release();
    await this.single.release();
    await this.forward.release();
  }
}
