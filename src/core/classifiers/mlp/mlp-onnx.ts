/**
 * The dense nets' training on onnxruntime's CPU provider (MLAS: AVX2/AVX-512 sgemm), several times faster
 * per step than single-threaded tfjs-wasm: the mlp's PyTorch recipe, and the keras kind's tfjs-layers recipe
 * (its probability clip: GraphConfig.clip). The training step (forward pass, hand-written backward pass, Adam
 * for both layers) is one ONNX graph; an ONNX Loop runs it over up to STEPS_PER_RUN full batches per
 * session.run, gathering each batch from the training rows inside the graph, so the parameters and moments
 * cross the JS boundary once per run instead of once per step. A last partial batch runs through the
 * single-step graph.
 *
 * The maths of the tfjs engine in mlp-tfjs.ts (biases folded in as the last row of each weight matrix, the
 * batch carries a constant 1 column):
 *   z1 = X W1, a1 = relu(z1), a1e = [a1, 1], logp = logSoftmax(a1e W2)
 *   dz2 = (exp(logp) - Y) / nb, gW2 = a1e^T dz2, dz1 = (dz2 W2^T)[:, :H] * step(a1), gW1 = X^T dz1
 *   m = b1 m + (1 - b1) g, v = b2 v + (1 - b2) g^2, W -= (lr / bc1) m / (sqrt(v) / sqrt(bc2) + eps)
 * with Adam's moments kept scaled (10 element-wise passes instead of 13; mlp-onnx-graphs.ts's adamNodes), so
 * the two engines agree to float32 rounding. With many inputs, layer 1's state is kept in row chunks so Adam
 * runs in cache (mlp-onnx-options.ts's adamChunkFloats). MLAS splits a product over rows and columns, never
 * over the reduction, and the chunks are whole K strides, so the thread count and the chunking do not change
 * the bits; the trainer runs on one thread or on every core, whichever it measures faster (fastest.ts), after
 * checking that both give the same bits on this machine (variantsAgree).
 */
import { throwIfAborted } from '../../errors';
import type { Matrix } from '../../math/matrix';
import { renormalizeRowsInPlace } from '../../math/normalize';
import { mlpForwardModel, mlpTrainLoopModel, mlpTrainStepModel, stateLayout, type GraphConfig } from './mlp-onnx-graphs';
import { loadOrt, type Ort } from '../../onnx/ort';
import type { MlpEngine, TrainerOptions } from './engine';
import { FastestChooser } from './fastest';
import { adamChunkFloats, sessionOptions, threadChoices } from './mlp-onnx-options';

type Session = import('onnxruntime-node').InferenceSession;
type OrtTensor = import('onnxruntime-node').Tensor;
/** Rows per forward run of the validation pass (bounds its activations: 4,096 x H floats). */
const FORWARD_BLOCK = 4096;

/** Full batches per onnxruntime run (about 15 ms each at 384 inputs); cancellation is checked between runs. */
const STEPS_PER_RUN = 64;

/** The arrays one after another in one new array. */
function concatF32(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** One way to run the training steps: a thread count, layer 1's chunking for it, and the sessions built for them. */
interface Variant {
  threads: number;
  layout: { name: string; shape: [number, number] }[];
  names: string[];
  shapes: Record<string, [number, number]>;
  loop: Session;
  single: Session;
}

/**
 * Trains a dense net (the mlp, the keras kind) on onnxruntime: full batches run STEPS_PER_RUN at a time
 * through the Loop graph, a last partial batch through the one-step graph. The parameters and Adam moments
 * live in JS arrays between runs. Where threadChoices offers two thread counts, both sessions are built and
 * each run goes to the faster as measured (FastestChooser): the same bits either way.
 */
export class OnnxMlpTrainer implements MlpEngine {
  readonly engine = 'onnxruntime-cpu';
  /** The current state, in the current variant's layout: W1, W2 (weights with bias rows), m1, m2, v1, v2 (Adam's scaled moments); layer 1's maybe in row chunks W1c0, W1c1, ... */
  private state: Record<string, Float32Array>;
  private current = 0;
  private chooser: FastestChooser;
  /** One-hot training labels [N x C]. */
  private readonly Yall: Float32Array;
  private step = 0;

  private constructor(
    private readonly ort: Ort,
    private variants: Variant[],
    private readonly forward: Session,
    private readonly X: Matrix,
    y: Int32Array,
    private readonly H: number,
    private readonly C: number,
    private readonly B: number,
    private readonly adam: { lr: number; b1: number; b2: number; eps: number },
    w1: Float32Array,
    w2: Float32Array,
  ) {
    const D = X.cols;
    const zeros = (n: number): Float32Array => new Float32Array(n);
    const n1 = (D + 1) * H;
    const n2 = (H + 1) * C;
    this.state = { W1: Float32Array.from(w1), m1: zeros(n1), v1: zeros(n1), W2: Float32Array.from(w2), m2: zeros(n2), v2: zeros(n2) };
    this.state = this.inLayout(variants[0]!);
    this.chooser = new FastestChooser(variants.length);
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
      const D = X.cols;
      const ways =
        options.variants ??
        (options.threads !== undefined ? [options.threads] : threadChoices(D, H)).map((threads) => ({ threads, chunkFloats: options.chunkFloats ?? adamChunkFloats(threads, H) }));
      const counts = ways.map((w) => w.threads);
      const variants: Variant[] = [];
      for (const { threads, chunkFloats } of ways) {
        const cfg: GraphConfig = { b1: adam.b1, b2: adam.b2, eps: adam.eps, clip: options.clip, chunkFloats };
        const layout = stateLayout(D, H, C, cfg);
        const opts = sessionOptions(threads);
        variants.push({
          threads,
          layout,
          names: layout.map((l) => l.name),
          shapes: Object.fromEntries(layout.map((l) => [l.name, l.shape])),
          loop: await ort.InferenceSession.create(mlpTrainLoopModel(D, H, C, B, cfg), opts),
          single: await ort.InferenceSession.create(mlpTrainStepModel(D, H, C, cfg), opts),
        });
      }
      const forward = await ort.InferenceSession.create(mlpForwardModel(D, H, C), sessionOptions(Math.max(...counts)));
      const trainer = new OnnxMlpTrainer(ort, variants, forward, X, y, H, C, B, adam, w1, w2);
      // Switching between variants must not change a run's numbers: where they would, keep every core.
      if (variants.length > 1 && !(await trainer.variantsAgree())) await trainer.keepOnly(variants.length - 1);
      return trainer;
    } catch {
      return null;
    }
  }

  /** Layer 1's W, m or v (t) as one (D+1) x H array: the state's chunks, in the current layout, put together (no copy when unchunked). */
  private layer1(t: 'W' | 'm' | 'v'): Float32Array {
    const whole = this.state[`${t}1`];
    if (whole) return whole;
    return concatF32(this.variants[this.current]!.layout.filter((l) => l.name.startsWith(`${t}1`)).map((l) => this.state[l.name]!));
  }

  /** The current state in variant v's layout (layer 1's chunks are consecutive row ranges: views of one array). */
  private inLayout(v: Variant): Record<string, Float32Array> {
    const next: Record<string, Float32Array> = {};
    for (const t of ['W', 'm', 'v'] as const) {
      next[`${t}2`] = this.state[`${t}2`]!;
      const flat = this.layer1(t);
      let off = 0;
      for (const l of v.layout.filter((x) => x.name.startsWith(`${t}1`))) {
        const len = l.shape[0] * l.shape[1];
        next[l.name] = flat.subarray(off, off + len);
        off += len;
      }
    }
    return next;
  }

  /** Makes variant i the current one, moving the state into its layout. */
  private use(i: number): Variant {
    const v = this.variants[i]!;
    if (i !== this.current) {
      if (v.names.join() !== this.variants[this.current]!.names.join()) this.state = this.inLayout(v);
      this.current = i;
    }
    return v;
  }

  /** How the runs were shared between thread counts: "2 threads: 40 runs, 2.10 ms a step; 1 thread: 3 runs, 3.50 ms a step". */
  threadUse(): string {
    return this.chooser
      .summary()
      .map((s, i) => `${this.variants[i]!.threads} thread${this.variants[i]!.threads > 1 ? 's' : ''}: ${s.runs} runs${Number.isNaN(s.ms) ? '' : `, ${s.ms.toFixed(2)} ms a step`}`)
      .join('; ');
  }

  /** The state tensors in variant v's layout, as its graphs' inputs. */
  private stateFeeds(v: Variant): Record<string, OrtTensor> {
    return Object.fromEntries(v.names.map((n) => [n, new this.ort.Tensor('float32', this.state[n]!, v.shapes[n]!)]));
  }

  /** Takes a run's outputs as the new state. */
  private takeState(v: Variant, out: Record<string, OrtTensor>): void {
    for (const n of v.names) this.state[n] = out[`${n}_out`]!.data as Float32Array;
  }

  /** The Loop graph's inputs for k = kStep.length steps over the rows idx (k x B) from the current state. */
  private loopFeeds(v: Variant, idx: BigInt64Array, kStep: Float32Array, kEpsT: Float32Array): Record<string, OrtTensor> {
    const T = this.ort.Tensor;
    const k = kStep.length;
    return {
      ...this.stateFeeds(v),
      Xall: new T('float32', this.X.data, [this.X.rows, this.X.cols]),
      Yall: new T('float32', this.Yall, [this.X.rows, this.C]),
      Perm: new T('int64', idx, [k, this.B]),
      KStep: new T('float32', kStep, [k]),
      KEpsT: new T('float32', kEpsT, [k]),
      trip: new T('int64', BigInt64Array.of(BigInt(k)), []),
      invNb: new T('float32', Float32Array.of(1 / this.B), [1]),
    };
  }

  /**
   * Whether every variant computes a step in the very same bits: one step on the first B rows from the current
   * state (not kept) through each variant's Loop graph, every output compared bit for bit. They are built to
   * (MLAS never splits a product's reduction over threads, and the chunks are whole K strides), but MLAS's K
   * stride depends on the columns each thread gets, so on some machines they may not: there only one is kept.
   */
  private async variantsAgree(): Promise<boolean> {
    if (this.X.rows < this.B) return true; // no full batch: the Loop graphs never run
    const idx = BigInt64Array.from({ length: this.B }, (_, i) => BigInt(i));
    const k = Float32Array.of(1e-3);
    const e = Float32Array.of(1e-8);
    let first: Uint32Array[] | null = null;
    for (let i = 0; i < this.variants.length; i++) {
      const v = this.use(i);
      const out = await v.loop.run(this.loopFeeds(v, idx, k, e));
      const flat = (t: string): Float32Array => concatF32(v.layout.filter((l) => l.name.startsWith(`${t}1`)).map((l) => out[`${l.name}_out`]!.data as Float32Array));
      const outs = [...(['W', 'm', 'v'] as const).flatMap((t) => [flat(t), out[`${t}2_out`]!.data as Float32Array]), out.logp!.data as Float32Array];
      const bits = outs.map((a) => new Uint32Array(a.buffer, a.byteOffset, a.length));
      if (!first) first = bits;
      else if (bits.some((b, j) => b.length !== first![j]!.length || b.some((x, m) => x !== first![j]![m]))) return false;
    }
    this.use(0);
    return true;
  }

  /** Keeps only variant i (its sessions; the others released). */
  private async keepOnly(i: number): Promise<void> {
    const v = this.use(i);
    for (const o of this.variants) {
      if (o === v) continue;
      await o.loop.release();
      await o.single.release();
    }
    this.variants = [v];
    this.current = 0;
    this.chooser = new FastestChooser(1);
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
    for (let s0 = 0; s0 < full; s0 += STEPS_PER_RUN) {
      throwIfAborted(signal);
      const k = Math.min(STEPS_PER_RUN, full - s0);
      const idx = new BigInt64Array(k * B);
      for (let i = 0; i < k * B; i++) idx[i] = BigInt(perm[s0 * B + i]!);
      const kStep = new Float32Array(k);
      const kEpsT = new Float32Array(k);
      for (let j = 0; j < k; j++) [kStep[j], kEpsT[j]] = this.nextStep();
      const vi = this.chooser.next();
      const v = this.use(vi);
      const t0 = performance.now();
      const out = await v.loop.run(this.loopFeeds(v, idx, kStep, kEpsT));
      this.chooser.record(vi, (performance.now() - t0) / k);
      this.takeState(v, out);
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
      const [kStep, kEpsT] = this.nextStep();
      // Always on the first variant: the shapes of a partial batch were not part of variantsAgree's check.
      const v = this.use(0);
      const out = await v.single.run({
        ...this.stateFeeds(v),
        X: new T('float32', xb, [nb, De]),
        Y: new T('float32', yb, [nb, C]),
        invNb: new T('float32', Float32Array.of(1 / nb), [1]),
        kStep: new T('float32', Float32Array.of(kStep), [1]),
        kEpsT: new T('float32', Float32Array.of(kEpsT), [1]),
      });
      this.takeState(v, out);
      logp.set(out.logp!.data as Float32Array, full * B * C);
    }
    return logp;
  }

  /**
   * Advances the Adam step count; returns the new step's scalars for the scaled moments (mlp-onnx-graphs.ts's
   * adamNodes): kStep = (lr / bc1) (1 - b1) sqrt(bc2 / (1 - b2)) and kEps = eps sqrt(bc2 / (1 - b2)).
   */
  private nextStep(): [number, number] {
    this.step++;
    const { lr, b1, b2, eps } = this.adam;
    const s = Math.sqrt((1 - b2 ** this.step) / (1 - b2));
    return [(lr / (1 - b1 ** this.step)) * (1 - b1) * s, eps * s];
  }

  /** The current [W1; b1] (put together from its chunks when chunked) and [W2; b2] (not copied; state arrays are replaced, never written, by later steps). */
  weights(): [Float32Array, Float32Array] {
    return [this.layer1('W'), this.state.W2!];
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
    for (const v of this.variants) {
      await v.loop.release();
      await v.single.release();
    }
    await this.forward.release();
  }
}
