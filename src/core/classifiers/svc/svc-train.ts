/**
 * Training of the SVC's class pairs (one-vs-one): for each pair, Platt's probability folds (when asked)
 * and the pair's own binary solve, on this thread or on the SMO worker, two pairs at a time when a
 * worker runs. Results are identical whichever thread solves a pair.
 */
import { throwIfAborted } from '../../errors';
import { uniformInt } from '../../math/prng';
import type { PairKernels } from './kernel-memory';
import type { PairKernel } from './pair-kernel';
import type { SvcParams } from './params';
import { sigmoidTrain } from './smo-platt';
import type { BinarySolution } from './smo-q';
import { SmoSolver } from './smo-solver';
import { SolveWorker } from './svc-worker';

/**
 * Probability fitting: a pair whose kernel matrix fits cacheMb reuses that matrix for libsvm's 5-fold
 * cross-validation (solver time only). A larger pair with more rows than this fits Platt's sigmoid on
 * one seeded held-out fold (20 %) instead, since each fold would recompute kernel rows: 5-fold costs
 * about four extra fits per pair, one fold 0.8 of a fit.
 */
export const PLATT_CV_MAX_ROWS = 5000;
/** SMO iterations between checks of the clock (for yielding to the event loop and cancelling). */
const STEP_CHUNK = 64;
/** Yield to the event loop at least this often (ms) so an AbortSignal can fire. */
const YIELD_MS = 50;

/** What training all class pairs gives (pairs in order (0,1), (0,2), ..., (1,2), ...). */
export interface PairResults {
  rho: Float64Array;
  probA: Float64Array | null;
  probB: Float64Array | null;
  /** Each pair's dual coefficients, over the pair's rows (class i's, then class j's). */
  pairCoef: Float64Array[];
  /** 1 for training rows that are a support vector of some pair. */
  nonzero: Uint8Array;
}

/** The class-pair problem: the present classes (ascending) and each one's training rows. */
export interface PairProblem {
  rows: number;
  classes: Int32Array;
  classRows: Int32Array[];
}

function identity(n: number): Int32Array {
  const a = new Int32Array(n);
  for (let i = 0; i < n; i++) a[i] = i;
  return a;
}

/** Trains every class pair of one fit. */
export class PairTrainer {
  private lastYield = Date.now();
  /** One pair at a time, its solves on both threads (see trainAll). */
  private spread = false;

  constructor(
    private readonly params: SvcParams,
    private readonly seed: number,
    private readonly signal?: AbortSignal,
  ) {}

  /**
   * Solves all pairs over `kernels`: one lane per thread, each taking the next class pair and doing all
   * of its solves (the Platt folds, then the pair itself) on its thread; progress is reported in pair
   * order. `onThreads` hears how the solves run ('js', 'js, 2 solver threads', ...).
   */
  async trainAll(
    problem: PairProblem,
    kernels: PairKernels,
    parallel: boolean,
    onThreads: (threads: string) => void,
    onProgress?: (done: number, total: number, phase: string) => void,
  ): Promise<PairResults> {
    const { classes, classRows } = problem;
    const k = classes.length;
    const nPairs = (k * (k - 1)) / 2;
    const probability = this.params.probability;
    const res: PairResults = {
      rho: new Float64Array(nPairs),
      probA: probability ? new Float64Array(nPairs) : null,
      probB: probability ? new Float64Array(nPairs) : null,
      pairCoef: new Array<Float64Array>(nPairs),
      nonzero: new Uint8Array(problem.rows),
    };
    const pairs: [number, number][] = [];
    for (let i = 0; i < k; i++) for (let j = i + 1; j < k; j++) pairs.push([i, j]);
    const done = new Uint8Array(nPairs);
    let next = 0;
    let reported = 0;
    let failed = false;
    const lane = async (worker: SolveWorker | null): Promise<void> => {
      while (next < nPairs && !failed) {
        const p = next++;
        const [i, j] = pairs[p]!;
        await this.trainPair(p, i, j, classRows, kernels, worker, res);
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
      // When the kernel budget holds one pair at a time, that pair's solves (Platt's folds and its own) are
      // spread over both threads instead of solving two pairs at once.
      this.spread = worker !== null && this.params.probability && kernels.pairsAtOnce < 2;
      onThreads(worker ? (this.spread ? 'js, 2 solver threads (one pair at a time)' : 'js, 2 solver threads') : parallel ? 'js, 1 solver thread (the worker failed its check)' : 'js');
      const lanes = [lane(this.spread ? worker : null)];
      if (worker && !this.spread) lanes.push(lane(worker));
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
    return res;
  }

  /** Pair p = classes (i, j): its probability sigmoid (when asked) and its own solution, into `res`. */
  private async trainPair(
    p: number,
    i: number,
    j: number,
    classRows: Int32Array[],
    kernels: PairKernels,
    worker: SolveWorker | null,
    res: PairResults,
  ): Promise<void> {
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
      await this.breathe();
      const exec = pk.layout ? worker : null;
      // The solves' executors: with `spread`, this thread and the worker take the solves in turn.
      const execs = this.spread && exec ? [exec, null] : [exec];
      const own: { sol: BinarySolution | null } = { sol: null };
      const finalTask = async (e: SolveWorker | null): Promise<void> => {
        own.sol = await this.solve(pk, identity(rows.length), labels, e);
      };
      if (res.probA && res.probB) {
        const ab = await this.binaryProbability(pk, labels, p, execs, finalTask);
        res.probA[p] = ab.A;
        res.probB[p] = ab.B;
      } else {
        await finalTask(exec);
      }
      const sol = own.sol;
      if (!sol) throw new Error('SVC: a class pair was not solved.');
      res.rho[p] = sol.rho;
      res.pairCoef[p] = sol.coef;
      for (let t = 0; t < rows.length; t++) if (sol.coef[t] !== 0) res.nonzero[rows[t]!] = 1;
    } finally {
      kernels.release(p);
    }
  }

  /**
   * Solves the binary subproblem of pair rows `sub` (labels ±1): in the worker when given (the pair's
   * kernel is then precomputed in shared memory), else here, yielding to the event loop every
   * YIELD_MS so a cancel can land. Both run the same solver on the same values: identical results.
   */
  private async solve(pk: PairKernel, sub: Int32Array, labels: Int8Array, worker: SolveWorker | null): Promise<BinarySolution> {
    const opts = { C: this.params.C, eps: this.params.tol, shrinking: this.params.shrinking, maxIter: this.params.maxIter };
    if (worker && pk.layout) {
      const sol = await worker.solve(pk.layout, sub, labels, opts, this.signal);
      await this.breathe();
      return sol;
    }
    const solver = new SmoSolver(pk.makeQ(sub, labels), opts);
    while (!solver.step(STEP_CHUNK)) await this.breathe();
    await this.breathe();
    return solver.solution();
  }

  /**
   * Yields to the event loop once YIELD_MS of work has passed since the last yield (counted across
   * solves, which are often shorter than that), so timers and an AbortSignal can fire; then checks it.
   */
  private async breathe(): Promise<void> {
    if (Date.now() - this.lastYield >= YIELD_MS) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      this.lastYield = Date.now();
    }
    throwIfAborted(this.signal);
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
    execs: (SolveWorker | null)[],
    finalTask: (e: SolveWorker | null) => Promise<void>,
  ): Promise<{ A: number; B: number }> {
    const l = pk.l;
    const nrFold = 5;
    const perm = this.foldShuffle(l, pair);
    const folds = pk.full || l <= PLATT_CV_MAX_ROWS ? nrFold : 1;
    const heldEnd = folds === nrFold ? l : Math.floor(l / nrFold);
    const dec = new Float64Array(heldEnd);
    const decLabels = new Int8Array(heldEnd);
    // The pair's own solve first (the largest), then the folds; each executor takes the next task when
    // free. Every solve writes only its own values: the order changes nothing in the results.
    const tasks: ((e: SolveWorker | null) => Promise<void>)[] = [finalTask];
    for (let f = 0; f < folds; f++) {
      const begin = Math.floor((f * l) / nrFold);
      const end = Math.floor(((f + 1) * l) / nrFold);
      for (let t = begin; t < end; t++) decLabels[t] = labels[perm[t]!]!;
      tasks.push((e) => this.foldDecisions(pk, labels, perm, begin, end, e, dec));
    }
    let next = 0;
    let failed = false;
    await Promise.all(
      execs.map(async (e) => {
        while (next < tasks.length && !failed) {
          try {
            await tasks[next++]!(e);
          } catch (err) {
            failed = true;
            throw err;
          }
        }
      }),
    );
    return sigmoidTrain(dec, decLabels);
  }

  /** libsvm's seeded shuffle of a pair's l rows for its probability folds. */
  private foldShuffle(l: number, pair: number): Int32Array {
    const rand = uniformInt((this.seed * 1_000_003 + pair * 7919 + 1) >>> 0);
    const perm = identity(l);
    for (let i = 0; i < l; i++) {
      const j = i + rand(l - i);
      const t = perm[i]!;
      perm[i] = perm[j]!;
      perm[j] = t;
    }
    return perm;
  }

  /** Trains on all rows but the fold perm[begin..end) and writes the fold's decision values into dec[begin..end). */
  private async foldDecisions(
    pk: PairKernel,
    labels: Int8Array,
    perm: Int32Array,
    begin: number,
    end: number,
    worker: SolveWorker | null,
    dec: Float64Array,
  ): Promise<void> {
    const l = pk.l;
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
    if (pos === 0 || neg === 0) {
      dec.fill(pos > 0 ? 1 : neg > 0 ? -1 : 0, begin, end);
      return;
    }
    const sol = await this.solve(pk, sub, subLabels, worker);
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
}
