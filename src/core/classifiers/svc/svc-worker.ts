import { Worker } from 'node:worker_threads';
import { throwIfAborted } from '../../errors';
import { startWorker } from '../../entry';
import { SvcQFull, type PairLayout } from './kernel-full-q';
import type { BinarySolution, SmoOptions } from './smo-q';
import { SmoSolver } from './smo-solver';

interface Pending {
  resolve: (sol: BinarySolution | null) => void;
  reject: (e: Error) => void;
}

/**
 * A worker thread running SMO solves on pair kernels held in a SharedArrayBuffer, so that two class
 * pairs are solved at once (this thread takes the other). Before use it solves a small problem and
 * must reproduce this thread's solution bit for bit; otherwise start() returns null.
 */
export class SolveWorker {
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private dead: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: { id: number; ok: boolean; sol?: BinarySolution; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) worker.unref();
      if (m.ok) p.resolve(m.sol ?? null);
      else p.reject(new Error(m.error ?? 'SMO worker failed'));
    });
    const fail = (e: Error): void => {
      this.dead ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', () => fail(new Error('SMO worker exited')));
    worker.unref();
  }

  /** A worker over the shared kernel array K, or null when threads are unavailable or disagree. */
  static async start(K: Float32Array): Promise<SolveWorker | null> {
    if (!(K.buffer instanceof SharedArrayBuffer)) return null;
    let w: SolveWorker | null = null;
    try {
      w = new SolveWorker(startWorker(import.meta.url, 'svc-solver-thread'));
      await w.send({ type: 'init', K });
      if (!(await w.selfTest())) throw new Error('SMO worker disagrees with this thread');
      return w;
    } catch {
      w?.close();
      return null;
    }
  }

  /** Solves the subproblem of the pair rows `positions` (labels ±1) over `layout`, whose K is the shared array. */
  async solve(layout: PairLayout, positions: Int32Array, labels: Int8Array, opts: SmoOptions, signal?: AbortSignal, own?: boolean): Promise<BinarySolution> {
    throwIfAborted(signal);
    const onAbort = (): void => this.close();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const sol = await this.send({
        type: 'solve',
        K: own ? layout.K : null,
        split: layout.split,
        rowL: layout.rowL,
        rowR: layout.rowR,
        positions,
        labels,
        opts,
      });
      return sol!;
    } catch (e) {
      throwIfAborted(signal);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  close(): void {
    this.dead ??= new Error('SMO worker closed');
    void this.worker.terminate();
  }

  /** A seeded 60-row, two-class problem solved here and in the worker: the solutions must be identical. */
  private async selfTest(): Promise<boolean> {
    const l = 60;
    const K = new Float32Array(l * l);
    const x = Float64Array.from({ length: l }, (_, i) => Math.sin(i * 12.9898) * 3 + (i < l / 2 ? 1 : -1));
    for (let i = 0; i < l; i++) for (let j = 0; j < l; j++) K[i * l + j] = Math.exp(-0.5 * (x[i]! - x[j]!) ** 2);
    const rowL = Int32Array.from({ length: l }, (_, i) => i * l);
    const layout: PairLayout = { K, split: l, rowL, rowR: rowL };
    const positions = Int32Array.from({ length: l }, (_, i) => i);
    const labels = Int8Array.from({ length: l }, (_, i) => (i < l / 2 ? 1 : -1));
    const opts: SmoOptions = { C: 1, eps: 1e-3, shrinking: true, maxIter: -1 };
    const here = new SmoSolver(new SvcQFull(layout, positions, labels), opts);
    while (!here.step(1 << 30));
    const a = here.solution();
    const b = await this.solve(layout, positions, labels, opts, undefined, true);
    return a.rho === b.rho && a.iterations === b.iterations && a.coef.every((v, i) => v === b.coef[i]);
  }

  private send(m: Record<string, unknown>): Promise<BinarySolution | null> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Referenced only while a request is pending: an idle worker never keeps the process alive.
    if (this.pending.size === 0) this.worker.ref();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...m, id });
    });
  }
}
