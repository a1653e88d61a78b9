/**
 * Entry of the SVC's second solver thread (see svc-worker.ts): solves binary subproblems over pair
 * kernels held in shared memory with the same SmoSolver class as the main thread.
 */
import { parentPort } from 'node:worker_threads';
import { SvcQFull, type PairLayout } from './kernel-full-q';
import type { SmoOptions } from './smo-q';
import { SmoSolver } from './smo-solver';

interface SolveMessage {
  id: number;
  type: 'init' | 'solve';
  K: Float32Array | null;
  split: number;
  rowL: Int32Array;
  rowR: Int32Array;
  positions: Int32Array;
  labels: Int8Array;
  opts: SmoOptions;
}

let shared: Float32Array | null = null;
parentPort!.on('message', (m: SolveMessage) => {
  try {
    if (m.type === 'init') {
      shared = m.K;
      parentPort!.postMessage({ id: m.id, ok: true });
      return;
    }
    const layout: PairLayout = { K: (m.K ?? shared)!, split: m.split, rowL: m.rowL, rowR: m.rowR };
    const solver = new SmoSolver(new SvcQFull(layout, m.positions, m.labels), m.opts);
    while (!solver.step(1 << 30));
    const sol = solver.solution();
    parentPort!.postMessage({ id: m.id, ok: true, sol }, [sol.coef.buffer as ArrayBuffer]);
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: String((e as Error)?.message ?? e) });
  }
});
