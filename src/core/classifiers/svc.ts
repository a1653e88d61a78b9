import os from 'node:os';
import { LabError, throwIfAborted } from '../errors';
import type { SvcParams } from '../../shared/classifier-params';
import { RbfKernel, rbfCross, scaleGamma, squaredNorms } from './kernel-rbf';
import { layoutValue, SvcQFull, type PairLayout } from './kernel-full-q';
import { BlockWorker, rbfOnnx, rbfRowsOnnx } from './kernel-onnx';
import { SvcQ } from './kernel-svc-q';
import { multiclassProbability, seededRandom, sigmoidPredict, sigmoidTrain } from './smo-platt';
import { SmoSolver, type BinarySolution, type SmoQ } from './smo-solver';
import { SolveWorker } from './svc-worker';
import { b64ToF32, f32ToB64, matrix, type Classifier, type FitOptions, type Matrix, type SavedModel } from './types';

export type { SvcParams };

const SAVE_VERSION = 1;
/** libsvm's probability estimates never go below this (or above 1 - this). */
const MIN_PROB = 1e-7;
/**
 * Probability fitting: a pair whose kernel matrix fits cacheMb reuses that matrix for libsvm's 5-fold
 * cross-validation (solver time only). A larger pair with more rows than this fits Platt's sigmoid on
 * one seeded held-out fold (20 %) instead, since each fold would recompute kernel rows: 5-fold costs
 * about four extra fits per pair, one fold 0.8 of a fit.
 */
export const PLATT_CV_MAX_ROWS = 5000;
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

/** SMO iterations between checks of the clock (for yielding to the event loop and cancelling). */
const STEP_CHUNK = 64;
/** Yield to the event loop at least this often (ms) so an AbortSignal can fire. */
const YIELD_MS = 50;

/** State of a trained SVC (libsvm's svm_model for C-SVC, classes sorted). */
interface SvcModel {
  /** The classes present in the training labels, ascending (scikit-learn's classes_). */
  classes: Int32Array;
  gamma: number;
  /** Support vectors grouped by class (in `classes` order), each group in training order. */
  sv: Matrix;
  svSq: Float64Array;
  /** Support vectors per present class. */
  nSV: Int32Array;
  /** libsvm's sv_coef: (k - 1) rows of nSV_total signed dual coefficients (float32 so save/load is exact). */
  svCoef: Float32Array;
  /** One rho per class pair (0,1), (0,2), ..., (1,2), ... */
  rho: Float64Array;
  probA: Float64Array | null;
  probB: Float64Array | null;
}

/**
 * RBF-kernel C-SVC, one-vs-one over all class pairs like libsvm (scikit-learn's SVC()): an SMO solver
 * with WSS3 and shrinking per pair, voting for predict, Platt scaling + pairwise coupling for predictProba.
 */
export class SVC implements Classifier<SvcParams> {
  /** How the last fit ran (recorded with the run): the solver's threads. */
  backendInfo = 'js';
  readonly kind = 'svc';
  readonly params: SvcParams;
  private readonly numClasses: number;
  private readonly seed: number;
  private model: SvcModel | null = null;
  private dim = 0;
  private lastYield = 0;

  constructor(params: SvcParams, ctx: { numClasses: number; seed: number }) {
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

  /** Rebuilds a trained SVC from toJSON() output. */
  static load(saved: SavedModel): SVC {
    if (saved.kind !== 'svc') throw new LabError('bad_model', `Expected a saved svc model, got '${saved.kind}'.`);
    if (saved.version !== SAVE_VERSION) {
      throw new LabError('bad_model', `This svc model was saved in format ${saved.version}; this build reads format ${SAVE_VERSION}.`);
    }
    const s = saved.state as Record<string, unknown>;
    const svc = new SVC(saved.params as unknown as SvcParams, { numClasses: saved.numClasses, seed: Number(s.seed ?? 0) });
    const classes = Int32Array.from(s.classes as number[]);
    const nSV = Int32Array.from(s.nSupport as number[]);
    const total = nSV.reduce((a, b) => a + b, 0);
    const svData = b64ToF32(String(s.supportVectors));
    const svCoef = b64ToF32(String(s.dualCoef));
    const rho = Float64Array.from(s.rho as number[]);
    const k = classes.length;
    if (
      svData.length !== total * saved.dim ||
      svCoef.length !== (k - 1) * total ||
      rho.length !== (k * (k - 1)) / 2 ||
      nSV.length !== k
    ) {
      throw new LabError('bad_model', 'The saved svc model is inconsistent (support vector, coefficient or rho counts differ).');
    }
    const sv = matrix(total, saved.dim, svData);
    svc.dim = saved.dim;
    svc.model = {
      classes,
      gamma: Number(s.gamma),
      sv,
      svSq: squaredNorms(sv),
      nSV,
      svCoef,
      rho,
      probA: Array.isArray(s.probA) ? Float64Array.from(s.probA as number[]) : null,
      probB: Array.isArray(s.probB) ? Float64Array.from(s.probB as number[]) : null,
    };
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
    throwIfAborted(signal);
    this.lastYield = Date.now();
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
    const k = classes.length;
    const gamma = this.params.gamma === 'scale' ? scaleGamma(X) : this.params.gamma;
    const kernel = new RbfKernel(X, gamma);
    const cacheBytes = this.params.cacheMb * 1024 * 1024;
    const nPairs = (k * (k - 1)) / 2;
    const rho = new Float64Array(nPairs);
    const probA = this.params.probability ? new Float64Array(nPairs) : null;
    const probB = this.params.probability ? new Float64Array(nPairs) : null;
    const nonzero = new Uint8Array(X.rows);
    const pairCoef: Float64Array[] = new Array<Float64Array>(nPairs);
    const pairs: [number, number][] = [];
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
    const classRows = Array.from(classes, (c) => Int32Array.from(byClass[c]!));
    const parallel = SVC_TUNING.threads > 1 && pairEntries(classRows, cacheBytes) >= SVC_TUNING.parallelMinEntries;
    const kernels = new PairKernels(kernel, classRows, cacheBytes, parallel ? 2 : 1);
    const done = new Uint8Array(nPairs);
    let next = 0;
    let reported = 0;
    let failed = false;
    // One lane per thread: each takes the next class pair and does all of its solves (the Platt folds,
    // then the pair itself) on its thread; progress is reported in pair order.
    const lane = async (worker: SolveWorker | null): Promise<void> => {
      while (next < nPairs && !failed) {
        const p = next++;
        const [i, j] = pairs[p]!;
        const ri = classRows[i]!;
        const rj = classRows[j]!;
        const rows = new Int32Array(ri.length + rj.length);
        rows.set(ri);
        rows.set(rj, ri.length);
        const labels = new Int8Array(rows.length);
        labels.fill(1, 0, ri.length);
        labels.fill(-1, ri.length);
        const pk = await kernels.acquire(p, i, j, rows);
        try {
          await this.breathe(signal);
          const exec = pk.layout ? worker : null;
          if (probA && probB) {
            const ab = await this.binaryProbability(pk, labels, p, exec, signal);
            probA[p] = ab.A;
            probB[p] = ab.B;
          }
          const sol = await this.solve(pk, identity(rows.length), labels, exec, signal);
          rho[p] = sol.rho;
          pairCoef[p] = sol.coef;
          for (let t = 0; t < rows.length; t++) if (sol.coef[t] !== 0) nonzero[rows[t]!] = 1;
        } finally {
          kernels.release(p);
        }
        done[p] = 1;
        while (reported < nPairs && done[reported]) {
          reported++;
          const [a, b] = pairs[reported - 1]!;
          onProgress?.(reported, nPairs, `class pair ${classes[a]}/${classes[b]}`);
        }
      }
    };
    onProgress?.(0, nPairs, 'class pairs');
    let worker: SolveWorker | null = null;
    try {
      const K = parallel ? await kernels.allocate() : null;
      worker = K ? await SolveWorker.start(K) : null;
      this.backendInfo = worker ? 'js, 2 solver threads' : parallel ? 'js, 1 solver thread (the worker failed its check)' : 'js';
      const lanes = [lane(null)];
      if (worker) lanes.push(lane(worker));
      await Promise.all(
        lanes.map((l) =>
          l.catch((e: unknown) => {
            failed = true;
            throw e;
          }),
        ),
      );
    } finally {
      worker?.close();
      await kernels.dispose();
    }

    // Assemble libsvm's model: SVs grouped by class, sv_coef[(k-1) x total].
    const nSV = new Int32Array(k);
    const svRows: number[] = [];
    const svIndex = new Int32Array(X.rows).fill(-1);
    const start = new Int32Array(k);
    for (let c = 0; c < k; c++) {
      start[c] = svRows.length;
      for (const r of byClass[classes[c]!]!) {
        if (!nonzero[r]) continue;
        svIndex[r] = svRows.length;
        svRows.push(r);
        nSV[c]++;
      }
    }
    const total = svRows.length;
    const svCoef = new Float32Array(Math.max(0, (k - 1) * total));
    let p = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++) {
        const coef = pairCoef[p]!;
        const ri = byClass[classes[i]!]!;
        const rj = byClass[classes[j]!]!;
        for (let t = 0; t < ri.length; t++) {
          const s = svIndex[ri[t]!]!;
          if (s >= 0) svCoef[(j - 1) * total + s] = coef[t]!;
        }
        for (let t = 0; t < rj.length; t++) {
          const s = svIndex[rj[t]!]!;
          if (s >= 0) svCoef[i * total + s] = coef[ri.length + t]!;
        }
        p++;
      }
    }
    const d = X.cols;
    const svData = new Float32Array(total * d);
    svRows.forEach((r, s) => svData.set(X.data.subarray(r * d, (r + 1) * d), s * d));
    const sv = matrix(total, d, svData);
    this.dim = d;
    this.model = { classes, gamma, sv, svSq: squaredNorms(sv), nSV, svCoef, rho, probA, probB };
  }

  /**
   * One-vs-one decision values, one column per class pair (0,1), (0,2), ..., (1,2), ... of the classes
   * present in training, as scikit-learn's decision_function(decision_function_shape='ovo'): positive
   * favours the pair's first class; with two classes a single column where positive favours the second
   * (scikit-learn flips libsvm's sign there).
   */
  decisionFunction(X: Matrix): Matrix {
    const m = this.requireModel();
    const dec = this.libsvmDecision(X);
    if (m.classes.length === 2) for (let i = 0; i < dec.data.length; i++) dec.data[i] = -dec.data[i]!;
    return dec;
  }

  async predict(X: Matrix): Promise<Int32Array> {
    const m = this.requireModel();
    const dec = await this.libsvmDecisionFast(X);
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
    const dec = await this.libsvmDecisionFast(X);
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

  toJSON(): SavedModel {
    const m = this.requireModel();
    return {
      kind: 'svc',
      version: SAVE_VERSION,
      params: { ...this.params },
      numClasses: this.numClasses,
      dim: this.dim,
      state: {
        seed: this.seed,
        classes: Array.from(m.classes),
        gamma: m.gamma,
        nSupport: Array.from(m.nSV),
        supportVectors: f32ToB64(m.sv.data),
        dualCoef: f32ToB64(m.svCoef),
        rho: Array.from(m.rho),
        probA: m.probA ? Array.from(m.probA) : null,
        probB: m.probB ? Array.from(m.probB) : null,
      },
    };
  }

  private requireModel(): SvcModel {
    if (!this.model) throw new LabError('invalid_input', 'This SVC has not been trained yet: call fit first.');
    return this.model;
  }

  /** libsvm's svm_predict_values: rows x pairs, positive for the pair's first class (double-accumulated kernels). */
  private libsvmDecision(X: Matrix): Matrix {
    const m = this.requireModel();
    return this.combine(X, (block, out) => rbfCross(block, squaredNorms(block), m.sv, m.svSq, m.gamma, out));
  }

  /**
   * The same through onnxruntime's block product when available (float32 accumulation: values agree
   * with libsvmDecision to about 1e-6, far below any margin that matters), for predict throughput.
   */
  private async libsvmDecisionFast(X: Matrix): Promise<Matrix> {
    const m = this.requireModel();
    this.checkDim(X);
    const blocks: Float32Array[] = [];
    const rowsPer = this.blockRows();
    for (let r0 = 0; r0 < X.rows; r0 += rowsPer) {
      const nr = Math.min(rowsPer, X.rows - r0);
      const block = matrix(nr, X.cols, X.data.subarray(r0 * X.cols, (r0 + nr) * X.cols));
      const K = await rbfOnnx(block, squaredNorms(block), m.sv, m.svSq, m.gamma);
      if (!K) return this.libsvmDecision(X);
      blocks.push(K);
    }
    let b = 0;
    return this.combine(X, (_block, out) => out.set(blocks[b++]!.subarray(0, out.length)));
  }

  private checkDim(X: Matrix): void {
    if (X.cols !== this.dim) throw new LabError('invalid_input', `SVC: expected ${this.dim} features per row, got ${X.cols}.`);
  }

  /** Rows per prediction block: about 16 M kernel values at a time. */
  private blockRows(): number {
    return Math.max(1, Math.min(4096, Math.floor((16 << 20) / Math.max(1, this.requireModel().sv.rows))));
  }

  /** Decision values from blocks of kernel values K(block rows, SVs) produced by `kernelBlock`. */
  private combine(X: Matrix, kernelBlock: (block: Matrix, out: Float32Array) => void): Matrix {
    const m = this.requireModel();
    this.checkDim(X);
    const k = m.classes.length;
    const nPairs = (k * (k - 1)) / 2;
    const out = matrix(X.rows, nPairs);
    const total = m.sv.rows;
    const start = new Int32Array(k);
    for (let c = 1; c < k; c++) start[c] = start[c - 1]! + m.nSV[c - 1]!;
    const rowsPer = this.blockRows();
    const kv = new Float32Array(Math.min(rowsPer, X.rows) * total);
    for (let r0 = 0; r0 < X.rows; r0 += rowsPer) {
      const nr = Math.min(rowsPer, X.rows - r0);
      const block = matrix(nr, X.cols, X.data.subarray(r0 * X.cols, (r0 + nr) * X.cols));
      kernelBlock(block, kv.subarray(0, nr * total));
      for (let b = 0; b < nr; b++) {
        const ko = b * total;
        let p = (r0 + b) * nPairs;
        let q = 0;
        for (let i = 0; i < k; i++) {
          for (let j = i + 1; j < k; j++) {
            let sum = 0;
            const ci = (j - 1) * total;
            const cj = i * total;
            for (let s = start[i]!, e = s + m.nSV[i]!; s < e; s++) sum += m.svCoef[ci + s]! * kv[ko + s]!;
            for (let s = start[j]!, e = s + m.nSV[j]!; s < e; s++) sum += m.svCoef[cj + s]! * kv[ko + s]!;
            out.data[p++] = sum - m.rho[q++]!;
          }
        }
      }
    }
    return out;
  }

  /**
   * Solves the binary subproblem of pair rows `sub` (labels ±1): in the worker when given (the pair's
   * kernel is then precomputed in shared memory), else here, yielding to the event loop every
   * YIELD_MS so a cancel can land. Both run the same solver on the same values: identical results.
   */
  private async solve(pk: PairKernel, sub: Int32Array, labels: Int8Array, worker: SolveWorker | null, signal?: AbortSignal): Promise<BinarySolution> {
    const opts = { C: this.params.C, eps: this.params.tol, shrinking: this.params.shrinking, maxIter: this.params.maxIter };
    if (worker && pk.layout) {
      const sol = await worker.solve(pk.layout, sub, labels, opts, signal);
      await this.breathe(signal);
      return sol;
    }
    const solver = new SmoSolver(pk.makeQ(sub, labels), opts);
    while (!solver.step(STEP_CHUNK)) await this.breathe(signal);
    await this.breathe(signal);
    return solver.solution();
  }

  /**
   * Yields to the event loop once YIELD_MS of work has passed since the last yield (counted across
   * solves, which are often shorter than that), so timers and an AbortSignal can fire; then checks it.
   */
  private async breathe(signal?: AbortSignal): Promise<void> {
    if (Date.now() - this.lastYield >= YIELD_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = Date.now();
    }
    throwIfAborted(signal);
  }

  /**
   * libsvm's svm_binary_svc_probability: decision values from internal 5-fold cross-validation
   * (seeded shuffle), then Platt's sigmoid. When the pair's kernel matrix is precomputed the folds
   * cost only solver time. Otherwise pairs above PLATT_CV_MAX_ROWS rows hold out only the first of
   * the 5 folds and fit the sigmoid on its decision values (one extra fit on 80 % instead of five).
   */
  private async binaryProbability(
    pk: PairKernel,
    labels: Int8Array,
    pair: number,
    worker: SolveWorker | null,
    signal?: AbortSignal,
  ): Promise<{ A: number; B: number }> {
    const l = pk.l;
    const nrFold = 5;
    const rand = seededRandom((this.seed * 1_000_003 + pair * 7919 + 1) >>> 0);
    const perm = identity(l);
    for (let i = 0; i < l; i++) {
      const j = i + rand(l - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    const folds = pk.full || l <= PLATT_CV_MAX_ROWS ? nrFold : 1;
    const heldEnd = folds === nrFold ? l : Math.floor(l / nrFold);
    const dec = new Float64Array(heldEnd);
    const decLabels = new Int8Array(heldEnd);
    for (let f = 0; f < folds; f++) {
      const begin = Math.floor((f * l) / nrFold);
      const end = Math.floor(((f + 1) * l) / nrFold);
      // The fold's training rows in pair order rather than libsvm's shuffled order: the same
      // subproblem (the order only breaks ties), but kernel rows are then read almost sequentially.
      const held = new Uint8Array(l);
      for (let t = begin; t < end; t++) held[perm[t]!] = 1;
      const sub = new Int32Array(l - (end - begin));
      const subLabels = new Int8Array(sub.length);
      let n = 0;
      let pos = 0;
      let neg = 0;
      for (let h = 0; h < l; h++) {
        if (held[h]) continue;
        sub[n] = h;
        subLabels[n] = labels[h]!;
        if (subLabels[n]! > 0) pos++;
        else neg++;
        n++;
      }
      for (let t = begin; t < end; t++) decLabels[t] = labels[perm[t]!]!;
      if (pos === 0 || neg === 0) {
        dec.fill(pos > 0 ? 1 : neg > 0 ? -1 : 0, begin, end);
        continue;
      }
      const sol = await this.solve(pk, sub, subLabels, worker, signal);
      const svs: number[] = [];
      const coefs: number[] = [];
      for (let t = 0; t < n; t++) {
        if (sol.coef[t] !== 0) {
          svs.push(sub[t]!);
          coefs.push(sol.coef[t]!);
        }
      }
      const score = pk.scorer(Int32Array.from(svs), Float64Array.from(coefs));
      for (let t = begin; t < end; t++) dec[t] = score(perm[t]!) - sol.rho;
    }
    return sigmoidTrain(dec, decLabels);
  }
}

/** Kernel access for one class pair's rows: a precomputed matrix, or rows computed on demand. */
interface PairKernel {
  l: number;
  full: boolean;
  /** The Q matrix of the subproblem made of pair rows `sub` with labels `labels`. */
  makeQ(sub: Int32Array, labels: Int8Array): SmoQ;
  /** Where the precomputed kernel lies (full pairs only): lets the SMO worker read it. */
  layout?: PairLayout;
  /** h -> sum_s coef_s K(pair row h, pair row sv_s). */
  scorer(sv: Int32Array, coef: Float64Array): (h: number) => number;
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/**
 * Kernel access per class pair. When a pair's kernel matrix fits the cache budget ((n_a + n_b)^2
 * floats) it is precomputed from per-class blocks: K(c, c) once per class, shared by the class's k - 1
 * pairs, and per pair only the cross block K(a, b) and its transpose (written while each chunk is in
 * cache), read in place through a PairLayout; for ten balanced classes that is 55 blocks of products
 * instead of 180, and no pair matrix is assembled. The products run in a worker thread (onnxruntime,
 * one thread) into a SharedArrayBuffer, one pair ahead of the solvers: while pairs are solved, the
 * blocks of the next pair are computed (cross-block slots: one per solving lane, plus one ahead).
 * Without the worker they run here, through onnxruntime when present, else in JavaScript. Memory:
 * sum_c n_c^2 + 2 (lanes + 1) max n_a n_b floats for the whole fit (1.6 GB for 50,000 rows in ten
 * balanced classes, two lanes), beyond cacheMb, which still decides which pairs are precomputed; if
 * that exceeds a quarter of the machine's memory, or for pairs too large for the budget, kernel rows
 * are computed on demand through libsvm's row cache.
 */
class PairKernels {
  private K: Float32Array | null = null;
  private worker: BlockWorker | null = null;
  private disposed = false;
  private readonly classOff: Float64Array;
  private readonly classReq: (Promise<void> | null)[];
  /** Pair index (fit order) -> index among the precomputed pairs; precomputed pairs in order. */
  private readonly orderIndex = new Map<number, number>();
  private readonly order: number[] = [];
  private readonly pairOf: [number, number][] = [];
  /** Cross-block slots: free ones, and the slot and request of each requested precomputed pair. */
  private readonly freeSlots: number[] = [];
  private readonly slotOf = new Map<number, number>();
  private readonly crossReq = new Map<number, Promise<void>>();
  private nextPrefetch = 0;
  private readonly total: number;
  private readonly cross: number;
  private readonly crossBase: number;
  private onnx = true;

  constructor(
    private readonly kernel: RbfKernel,
    /** Training rows of each present class, in class order. */
    private readonly classRows: Int32Array[],
    private readonly cacheBytes: number,
    /** Pairs being solved at once; one more slot holds the pair computed ahead. */
    private readonly lanes: number,
  ) {
    const k = classRows.length;
    this.classOff = new Float64Array(k).fill(-1);
    this.classReq = new Array<Promise<void> | null>(k).fill(null);
    let off = 0;
    let cross = 0;
    let p = 0;
    for (let i = 0; i < k; i++) {
      for (let j = i + 1; j < k; j++, p++) {
        if (!pairFits(classRows, i, j, cacheBytes)) continue;
        this.orderIndex.set(p, this.order.length);
        this.order.push(p);
        this.pairOf.push([i, j]);
        for (const c of [i, j]) {
          if (this.classOff[c]! >= 0) continue;
          this.classOff[c] = off;
          off += classRows[c]!.length ** 2;
        }
        cross = Math.max(cross, classRows[i]!.length * classRows[j]!.length);
      }
    }
    const slots = Math.min(lanes + 1, this.order.length);
    for (let s = 0; s < slots; s++) this.freeSlots.push(s);
    this.crossBase = off;
    this.cross = cross;
    // Each slot holds a cross block and its transpose.
    this.total = off + 2 * slots * cross;
  }

  /** Allocates the shared blocks array and starts the product worker; null when no pair is precomputed. */
  async allocate(): Promise<Float32Array | null> {
    if (this.K) return this.K;
    // Offsets are int32; and the blocks may take at most a quarter of the machine's memory.
    if (this.order.length === 0 || this.total > 0x7fffffff || this.total * 4 > os.totalmem() / 4) return null;
    let K: Float32Array;
    try {
      K = new Float32Array(new SharedArrayBuffer(this.total * 4));
    } catch {
      try {
        K = new Float32Array(this.total);
      } catch {
        return null; // out of memory: rows on demand instead
      }
    }
    this.K = K;
    // With one lane the products run here, in between the solves: no thread to gain.
    if (this.lanes > 1) this.worker = await BlockWorker.start(this.kernel.X, this.kernel.sq, this.kernel.gamma, K);
    return K;
  }

  /**
   * Kernel access for pair p = classes (i, j), whose rows (class i's, then class j's) are `rows`;
   * release(p) once its solves are done. Pairs are acquired in increasing order.
   */
  async acquire(p: number, i: number, j: number, rows: Int32Array): Promise<PairKernel> {
    const idx = this.orderIndex.get(p);
    if (idx === undefined || !(await this.allocate())) return onDemandKernel(this.kernel, rows, this.cacheBytes);
    const K = this.K!;
    const here = this.request(idx);
    // Compute the next precomputed pair ahead while this one is solved (needs a free slot).
    if (this.worker && this.nextPrefetch < this.order.length && this.freeSlots.length > 0) void this.request(this.nextPrefetch);
    await here;
    const ri = this.classRows[i]!;
    const rj = this.classRows[j]!;
    const ni = ri.length;
    const nj = rj.length;
    const l = ni + nj;
    const { off, offT } = this.slotOffsets(this.slotOf.get(idx)!);
    const rowL = new Int32Array(l);
    const rowR = new Int32Array(l);
    for (let r = 0; r < ni; r++) {
      rowL[r] = this.classOff[i]! + r * ni;
      rowR[r] = off + r * nj - ni;
    }
    for (let r = 0; r < nj; r++) {
      rowL[ni + r] = offT + r * ni;
      rowR[ni + r] = this.classOff[j]! + r * nj - ni;
    }
    return fullKernel({ K, split: ni, rowL, rowR }, l);
  }

  /** Pair p's solves are done: its cross-block slot can be reused. */
  release(p: number): void {
    const idx = this.orderIndex.get(p);
    if (idx === undefined) return;
    const slot = this.slotOf.get(idx);
    if (slot === undefined) return;
    this.slotOf.delete(idx);
    this.crossReq.delete(idx);
    this.freeSlots.push(slot);
  }

  /** Stops the product worker and frees the blocks. */
  async dispose(): Promise<void> {
    this.disposed = true;
    const w = this.worker;
    this.worker = null;
    this.K = null;
    await w?.close();
  }

  private slotOffsets(slot: number): { off: number; offT: number } {
    const off = this.crossBase + slot * 2 * this.cross;
    return { off, offT: off + this.cross };
  }

  /** Requests (once) everything precomputed pair idx reads: both class blocks and its cross block. */
  private request(idx: number): Promise<void> {
    const [i, j] = this.pairOf[idx]!;
    const need: Promise<void>[] = [];
    for (const c of [i, j]) {
      this.classReq[c] ??= this.product(this.classRows[c]!, this.classRows[c]!, this.classOff[c]!);
      need.push(this.classReq[c]!);
    }
    let cr = this.crossReq.get(idx);
    if (!cr) {
      const slot = this.freeSlots.shift();
      if (slot === undefined) throw new LabError('internal', 'SVC: no free kernel slot for a class pair.');
      this.slotOf.set(idx, slot);
      const { off, offT } = this.slotOffsets(slot);
      cr = this.product(this.classRows[i]!, this.classRows[j]!, off, offT);
      this.crossReq.set(idx, cr);
      this.nextPrefetch = Math.max(this.nextPrefetch, idx + 1);
    }
    need.push(cr);
    return Promise.all(need).then(() => undefined);
  }

  /** K(rowsA, rowsB) into the blocks at `off` (and its transpose at `offT`): worker, else here. */
  private async product(rowsA: Int32Array, rowsB: Int32Array, off: number, offT?: number): Promise<void> {
    if (this.worker) {
      try {
        await this.worker.product(rowsA, rowsB, off, offT);
        return;
      } catch {
        if (this.disposed) return;
        void this.worker?.close();
        this.worker = null;
      }
    }
    const K = this.K;
    if (!K || this.disposed) return;
    const kernel = this.kernel;
    if (this.onnx && (await rbfRowsOnnx(kernel.X, kernel.sq, rowsA, rowsB, kernel.gamma, K, off, offT === undefined ? undefined : K, offT))) return;
    this.onnx = false;
    const pick = (rows: Int32Array): Matrix => {
      const sub = matrix(rows.length, kernel.X.cols);
      rows.forEach((r, t) => sub.data.set(kernel.X.data.subarray(r * sub.cols, (r + 1) * sub.cols), t * sub.cols));
      return sub;
    };
    const m = rowsA.length;
    const n = rowsB.length;
    const A = pick(rowsA);
    const B = rowsB === rowsA ? A : pick(rowsB);
    rbfCross(A, Float64Array.from(rowsA, (r) => kernel.sq[r]!), B, Float64Array.from(rowsB, (r) => kernel.sq[r]!), kernel.gamma, K.subarray(off, off + m * n));
    if (offT !== undefined) for (let r = 0; r < m; r++) for (let c = 0; c < n; c++) K[offT + c * m + r] = K[off + r * n + c]!;
  }
}

/** Does the kernel matrix of classes i and j fit the cache budget? */
function pairFits(classRows: Int32Array[], i: number, j: number, cacheBytes: number): boolean {
  return (classRows[i]!.length + classRows[j]!.length) ** 2 * 4 <= cacheBytes;
}

/** Kernel values of all class pairs precomputed under the budget (the work that parallel solving splits). */
function pairEntries(classRows: Int32Array[], cacheBytes: number): number {
  let n = 0;
  for (let i = 0; i < classRows.length; i++) {
    for (let j = i + 1; j < classRows.length; j++) {
      if (pairFits(classRows, i, j, cacheBytes)) n += (classRows[i]!.length + classRows[j]!.length) ** 2;
    }
  }
  return n;
}

/** Kernel access through a precomputed pair kernel. */
function fullKernel(layout: PairLayout, l: number): PairKernel {
  return {
    l,
    full: true,
    layout,
    makeQ: (sub, labels) => new SvcQFull(layout, sub, labels),
    scorer: (sv, coef) => (h) => {
      let s = 0;
      for (let u = 0; u < sv.length; u++) s += coef[u]! * layoutValue(layout, h, sv[u]!);
      return s;
    },
  };
}

/** Kernel rows computed on demand through libsvm's row cache (pairs too large for the budget). */
function onDemandKernel(kernel: RbfKernel, rows: Int32Array, cacheBytes: number): PairKernel {
  return {
    l: rows.length,
    full: false,
    makeQ: (sub, labels) => new SvcQ(kernel, Int32Array.from(sub, (p) => rows[p]!), labels, cacheBytes),
    scorer: (sv, coef) => {
      const svRows = Int32Array.from(sv, (p) => rows[p]!);
      const kv = new Float32Array(sv.length);
      return (h) => {
        kernel.fillRow(rows[h]!, 1, svRows, null, 0, svRows.length, kv);
        let s = 0;
        for (let u = 0; u < coef.length; u++) s += coef[u]! * kv[u]!;
        return s;
      };
    },
  };
}
