import os from 'node:os';
import type { HeadGraph, HeadIo } from '../head-graph';
import { svcHead } from './onnx-head';
import { LabError, throwIfAborted } from '../../errors';
import { matrix, type Matrix } from '../../math/matrix';
import type { Classifier, ClassifierContext, FitOptions, SavedModel } from '../types';
import { PairKernels } from './kernel-memory';
import { pairEntries } from './kernel-plan';
import { RbfKernel, scaleGamma } from './kernel-rbf';
import type { SvcParams } from './params';
import { multiclassProbability, sigmoidPredict } from './smo-platt';
import { assembleModel, libsvmDecision, libsvmDecisionFast, modelFromSaved, modelState, type SvcModel } from './svc-model';
import { PairTrainer, type PairProblem } from './svc-train';

const SAVE_VERSION = 1;
/** libsvm's probability estimates never go below this (or above 1 - this). */
const MIN_PROB = 1e-7;
/**
 * Multithreading of fit: with two or more cores, pairs whose kernels are precomputed are solved two at
 * a time (this thread and an SMO worker), once the precomputed pairs hold at least
 * `parallelMinEntries` kernel values in all (below that, starting the worker costs more than it saves).
 * Exported so that tests can force the parallel path on small problems.
 */
export const SVC_TUNING = {
  threads: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
  parallelMinEntries: 1 << 24,
};

/**
 * RBF-kernel C-SVC, one-vs-one over all class pairs like libsvm (scikit-learn's SVC()): an SMO solver
 * with WSS3 and shrinking per pair (svc-train.ts, smo-solver.ts) over kernels held by kernel-memory.ts,
 * voting for predict, Platt scaling + pairwise coupling for predictProba.
 */
export class SVC implements Classifier<SvcParams> {
  readonly kind = 'svc';
  readonly params: SvcParams;
  private readonly numClasses: number;
  private readonly seed: number;
  private model: SvcModel | null = null;
  private dim = 0;
  private threads = 'js';
  private kernelUsage: PairKernels['usage'] | null = null;
  /**
   * The decision values of the last rows scored, kept for the next call on the same rows: a run asks for
   * the test split's probabilities, then its labels (the vote), and both come from one kernel pass against
   * every support vector (57 s for 10,000 rows at 50,000 x 3,072). A different matrix, or the same one
   * scored again after this, recomputes.
   */
  private lastDecision: { X: Matrix; data: Float32Array; dec: Matrix } | null = null;

  constructor(params: SvcParams, ctx: ClassifierContext) {
    this.params = { ...params };
    this.numClasses = ctx.numClasses;
    this.seed = ctx.seed;
    if (!(params.C > 0)) throw new LabError('invalid_input', `SVC: C must be a positive number (got ${params.C}).`);
    if (params.gamma !== 'scale' && !(params.gamma > 0)) {
      throw new LabError('invalid_input', `SVC: gamma must be 'scale' or a positive number (got ${params.gamma}).`);
    }
    if (!(params.tol > 0)) throw new LabError('invalid_input', `SVC: tol must be positive (got ${params.tol}).`);
    if (!Number.isInteger(ctx.numClasses) || ctx.numClasses < 2) {
      throw new LabError('invalid_input', `SVC needs at least 2 classes (got ${ctx.numClasses}).`);
    }
  }

  /** How the last fit ran (recorded with the run): the solver's threads, e.g. 'js, 2 solver threads'. */
  get backend(): string {
    return this.threads;
  }

  /**
   * Where the last fit's kernel values came from: precomputed pair blocks (by engine: onnxruntime on
   * the block worker thread with 1 intra-op thread, onnxruntime on this thread with its default
   * threads, or JavaScript) and pairs whose rows were computed on demand in JavaScript (libsvm's row
   * cache). For benchmarks and diagnostics; null before a fit.
   */
  get kernelBackend(): string | null {
    const u = this.kernelUsage;
    if (!u) return null;
    const parts: string[] = [];
    if (u.precomputedPairs) {
      const eng = [
        u.workerOnnxBlocks ? `${u.workerOnnxBlocks} on the onnxruntime block worker (1 intra-op thread)` : '',
        u.onnxBlocks ? `${u.onnxBlocks} on onnxruntime in the solver thread (default intra-op threads)` : '',
        u.jsBlocks ? `${u.jsBlocks} in JS` : '',
      ].filter(Boolean);
      const recomputed = u.evictions ? `, ${u.evictions} class blocks evicted and recomputed` : '';
      parts.push(`${u.precomputedPairs} pairs precomputed (blocks: ${eng.join(', ') || 'none'}; ${u.slots} slots, ${Math.round((u.blockFloats * 4) / 2 ** 20)} MiB${recomputed})`);
    }
    if (u.onDemandPairs) parts.push(`${u.onDemandPairs} pairs with kernel rows on demand in JS (row cache)`);
    return parts.join('; ');
  }

  /**
   * The last fit's kernel memory counters (see PairKernels.usage): block products, class blocks computed
   * (more than the classes when evicted and recomputed under the budget), evictions, and the floats of the
   * precomputed blocks array (at most cacheMb). Null before a fit.
   */
  get kernelMemory(): Readonly<PairKernels['usage']> | null {
    return this.kernelUsage;
  }

  /** Rebuilds a trained SVC from toJSON() output. */
  static load(saved: SavedModel): SVC {
    if (saved.kind !== 'svc') throw new LabError('bad_model', `Expected a saved svc model, got '${saved.kind}'.`);
    if (saved.version !== SAVE_VERSION) {
      throw new LabError('bad_model', `This svc model was saved in format ${saved.version}; this build reads format ${SAVE_VERSION}.`);
    }
    const s = saved.state as Record<string, unknown>;
    const svc = new SVC(saved.params as unknown as SvcParams, { numClasses: saved.numClasses, seed: Number(s.seed ?? 0) });
    const model = modelFromSaved(saved);
    svc.dim = saved.dim;
    svc.model = model;
    return svc;
  }

  /** Support vectors per class (scikit-learn's n_support_), one entry per class index; 0 for absent classes. */
  get nSupport(): number[] {
    const m = this.requireModel();
    const out = new Array<number>(this.numClasses).fill(0);
    m.classes.forEach((c, i) => (out[c] = m.nSV[i]!));
    return out;
  }

  /** The gamma used by the trained model ('scale' resolved). */
  get gamma(): number {
    return this.requireModel().gamma;
  }

  async fit(X: Matrix, y: Int32Array, opts: FitOptions = {}): Promise<void> {
    const { signal, onProgress } = opts;
    this.lastDecision = null;
    throwIfAborted(signal);
    const trainer = new PairTrainer(this.params, this.seed, signal);
    const problem = this.pairProblem(X, y);
    const gamma = this.params.gamma === 'scale' ? scaleGamma(X) : this.params.gamma;
    const cacheBytes = this.params.cacheMb * 1024 * 1024;
    const parallel = SVC_TUNING.threads > 1 && pairEntries(problem.classRows, cacheBytes) >= SVC_TUNING.parallelMinEntries;
    const kernels = new PairKernels(new RbfKernel(X, gamma), problem.classRows, cacheBytes, parallel ? 2 : 1);
    const res = await trainer.trainAll(problem, kernels, parallel, (t) => (this.threads = t), onProgress);
    this.kernelUsage = { ...kernels.usage };
    this.dim = X.cols;
    this.model = assembleModel(X, problem.classes, problem.classRows, gamma, res);
  }

  /** Checks the training data and groups its rows by class: the present classes, ascending, and their rows. */
  private pairProblem(X: Matrix, y: Int32Array): PairProblem {
    if (X.rows !== y.length) throw new LabError('invalid_input', `SVC: ${X.rows} rows of features but ${y.length} labels.`);
    if (X.rows === 0 || X.cols === 0) throw new LabError('invalid_input', 'SVC: the training set is empty.');
    const byClass: number[][] = Array.from({ length: this.numClasses }, () => []);
    for (let i = 0; i < y.length; i++) {
      const c = y[i]!;
      if (!(c >= 0 && c < this.numClasses)) {
        throw new LabError('invalid_input', `SVC: label ${c} at row ${i} is outside 0..${this.numClasses - 1}.`);
      }
      byClass[c]!.push(i);
    }
    const classes = Int32Array.from(byClass.flatMap((rows, c) => (rows.length ? [c] : [])));
    if (classes.length < 2) {
      throw new LabError('invalid_input', 'SVC needs training rows of at least two classes; the labels hold only one.');
    }
    return { rows: X.rows, classes, classRows: Array.from(classes, (c) => Int32Array.from(byClass[c]!)) };
  }

  /**
   * One-vs-one decision values, one column per class pair (0,1), (0,2), ..., (1,2), ... of the classes
   * present in training, as scikit-learn's decision_function(decision_function_shape='ovo'): positive
   * favours the pair's first class; with two classes a single column where positive favours the second
   * (scikit-learn flips libsvm's sign there).
   */
  decisionFunction(X: Matrix): Matrix {
    const m = this.requireModel();
    this.checkDim(X);
    const dec = libsvmDecision(m, X);
    if (m.classes.length === 2) for (let i = 0; i < dec.data.length; i++) dec.data[i] = -dec.data[i]!;
    return dec;
  }

  /** libsvmDecisionFast of X, reusing the last call's values when X is the same matrix (see lastDecision). */
  private async decisionValues(m: SvcModel, X: Matrix, keep: boolean): Promise<Matrix> {
    const last = this.lastDecision;
    this.lastDecision = null;
    if (last && last.X === X && last.data === X.data && last.dec.rows === X.rows) return last.dec;
    const dec = await libsvmDecisionFast(m, X);
    if (keep) this.lastDecision = { X, data: X.data, dec };
    return dec;
  }

  async predict(X: Matrix): Promise<Int32Array> {
    const m = this.requireModel();
    this.checkDim(X);
    const dec = await this.decisionValues(m, X, false);
    const k = m.classes.length;
    const out = new Int32Array(X.rows);
    const vote = new Int32Array(k);
    for (let r = 0; r < X.rows; r++) {
      vote.fill(0);
      let p = r * dec.cols;
      for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) vote[dec.data[p++]! > 0 ? i : j]++;
      let best = 0;
      for (let i = 1; i < k; i++) if (vote[i]! > vote[best]!) best = i;
      out[r] = m.classes[best]!;
    }
    return out;
  }

  /**
   * Class probabilities, libsvm's way: per-pair Platt sigmoids, then pairwise coupling. Models fitted
   * with probability=false return each class's share of the one-vs-one votes instead. Absent classes get 0.
   */
  async predictProba(X: Matrix): Promise<Matrix> {
    const m = this.requireModel();
    this.checkDim(X);
    const dec = await this.decisionValues(m, X, true);
    const k = m.classes.length;
    const out = matrix(X.rows, this.numClasses);
    const r = new Float64Array(k * k);
    const pk = new Float64Array(k);
    for (let row = 0; row < X.rows; row++) {
      let p = row * dec.cols;
      const o = row * this.numClasses;
      if (m.probA && m.probB) {
        let q = 0;
        for (let i = 0; i < k; i++) {
          for (let j = i + 1; j < k; j++) {
            const pr = Math.min(Math.max(sigmoidPredict(dec.data[p++]!, m.probA[q]!, m.probB[q]!), MIN_PROB), 1 - MIN_PROB);
            r[i * k + j] = pr;
            r[j * k + i] = 1 - pr;
            q++;
          }
        }
        if (k === 2) {
          pk[0] = r[1]!;
          pk[1] = r[2]!;
        } else multiclassProbability(k, r, pk);
      } else {
        pk.fill(0);
        for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pk[dec.data[p++]! > 0 ? i : j]++;
        for (let i = 0; i < k; i++) pk[i] = pk[i]! / dec.cols;
      }
      let s = 0;
      for (let i = 0; i < k; i++) s += pk[i]!;
      for (let i = 0; i < k; i++) out.data[o + m.classes[i]!] = pk[i]! / s;
    }
    return out;
  }

  /** The fitted SVC as an ONNX head (see onnx-head.ts): decision values and the vote, no probabilities yet. */
  onnxHead(io: HeadIo): HeadGraph {
    const m = this.requireModel();
    if (m.classes.length < 2) throw new LabError('invalid_input', 'SVC: a model with one class has no decision values to export.');
    return svcHead(io, m);
  }

  toJSON(): SavedModel {
    const m = this.requireModel();
    return {
      kind: 'svc',
      version: SAVE_VERSION,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: modelState(m, this.seed),
    };
  }

  private requireModel(): SvcModel {
    if (!this.model) throw new LabError('invalid_input', 'This SVC has not been trained yet: call fit first.');
    return this.model;
  }

  private checkDim(X: Matrix): void {
    if (X.cols !== this.dim) throw new LabError('invalid_input', `SVC: expected ${this.dim} features per row, got ${X.cols}.`);
  }
}
