/**
 * Label-efficiency sweeps: for each size (a fraction of each class, or k images per class) and repeat r,
 * a seeded stratified subset of the set's training split (seed + r; every class present, the split's row
 * order kept), one ordinary run per kind with seed + r, evaluated on the whole test split. Below
 * MIN_PER_CLASS_FOR_VALIDATION images in the smallest class a kind's validation split is turned off, and
 * k-NN's k is clamped to the subset (each kind's `forSubset`); the change is written in the run's notes.
 * A fraction of 1 is the whole split in order, so its run equals `dinolab train --seed <seed + r>`.
 */
import { isClassifierKind, type ClassifierKind, type SweepInfo } from '../../shared/contract';
import { paramsForSubset } from '../classifiers/registry';
import type { Db } from '../db/database';
import { getSet, loadSetData } from '../embeddings/queries';
import { LabError, toLabError } from '../errors';
import { createRun, executeRun, type TrainCallbacks } from '../runs/train-run';
import { attachSweepRun, classCount, getSweepRow, listSweepRuns, setSweepStatus, type SweepRow } from './queries';
import { minPerClass, stratifiedSubset, type SweepSize } from './subset';

/** Fewer images than this in a class of the subset: no validation split. */
export const MIN_PER_CLASS_FOR_VALIDATION = 10;

export interface SweepDef {
  kinds: ClassifierKind[];
  mode: 'fraction' | 'per_class';
  sizes: number[];
  repeats: number;
  seed: number;
}

export function parseSweep(row: SweepRow): SweepDef {
  const kinds = (JSON.parse(row.kinds) as string[]).filter(isClassifierKind);
  const s = JSON.parse(row.sizes) as { mode: 'fraction' | 'per_class'; values: number[] };
  return { kinds, mode: s.mode, sizes: s.values, repeats: row.repeats, seed: row.seed };
}

const sizeOf = (d: SweepDef, i: number): SweepSize => ({ mode: d.mode, value: d.sizes[i]! });

/** Runs (or resumes) a sweep: cells whose run finished are kept; the others are (re)trained. */
export async function runSweep(
  db: Db,
  sweepId: number,
  o: { signal?: AbortSignal; jobId?: string; onProgress?: (done: number, total: number, phase: string) => void; onEpoch?: TrainCallbacks['onEpoch'] } = {},
): Promise<{ sweepId: number; trained: number; kept: number; failed: number; total: number }> {
  const row = getSweepRow(db, sweepId);
  const d = parseSweep(row);
  const total = d.sizes.length * d.repeats * d.kinds.length;
  setSweepStatus(db, sweepId, 'running');
  let trained = 0;
  let kept = 0;
  let failed = 0;
  try {
    const data = loadSetData(db, row.set_id);
    const y = data.train.y;
    const finished = new Set(listSweepRuns(db, sweepId).filter((r) => r.status === 'done').map((r) => `${r.size_index}/${r.repeat}/${r.kind}`));
    let n = 0;
    for (let si = 0; si < d.sizes.length; si++) {
      for (let rep = 0; rep < d.repeats; rep++) {
        const rows = stratifiedSubset(y, sizeOf(d, si), d.seed + rep);
        const minPc = minPerClass(y, rows);
        for (const kind of d.kinds) {
          o.onProgress?.(n, total, `run ${n + 1}/${total}: ${kind}, size ${d.sizes[si]}, repeat ${rep + 1}`);
          if (finished.has(`${si}/${rep}/${kind}`)) {
            kept++;
            n++;
            continue;
          }
          const { params, notes } = paramsForSubset(kind, {}, { rows: rows.length, validation: minPc >= MIN_PER_CLASS_FOR_VALIDATION });
          const runId = createRun(db, { setId: row.set_id, kind, params: params as Record<string, unknown>, seed: d.seed + rep }, o.jobId);
          const note = notes.length ? `Label sweep ${sweepId}: ${notes.join('; ')}.` : null;
          attachSweepRun(db, { sweepId, sizeIndex: si, repeat: rep, kind, runId, trainRows: rows.length, minPerClass: minPc, note });
          try {
            await executeRun(db, runId, { signal: o.signal, trainRows: rows, preloaded: data, onEpoch: o.onEpoch });
            trained++;
          } catch (err) {
            if (o.signal?.aborted || toLabError(err).code === 'cancelled') throw err;
            failed++; // the run says why (status 'failed', its error); the sweep goes on
          }
          n++;
        }
      }
    }
    o.onProgress?.(total, total, 'done');
    setSweepStatus(db, sweepId, failed ? 'failed' : 'done', failed ? `${failed} of ${total} runs failed (see the runs).` : null);
    return { sweepId, trained, kept, failed, total };
  } catch (err) {
    const e = o.signal?.aborted ? new LabError('cancelled', 'Cancelled.') : toLabError(err);
    setSweepStatus(db, sweepId, e.code === 'cancelled' ? 'cancelled' : 'failed', e.code === 'cancelled' ? null : e.message);
    throw e;
  }
}

const meanStd = (v: number[]): { mean: number; std: number } => {
  if (!v.length) return { mean: NaN, std: NaN };
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  // Sample standard deviation (n - 1), 0 for a single run.
  const s = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1)) : 0;
  return { mean: m, std: s };
};

/** A sweep with its runs and, per kind and size, the mean and sample standard deviation over its finished repeats. */
export function sweepInfo(db: Db, sweepId: number): SweepInfo {
  const row = getSweepRow(db, sweepId);
  const d = parseSweep(row);
  const set = getSet(db, row.set_id);
  const runs = listSweepRuns(db, sweepId);
  const numClasses = classCount(db, row.set_id);
  const points: SweepInfo['points'] = [];
  for (const kind of d.kinds) {
    for (let si = 0; si < d.sizes.length; si++) {
      const cell = runs.filter((r) => r.kind === kind && r.size_index === si);
      const done = cell.filter((r) => r.status === 'done' && r.test_metrics);
      if (!done.length) continue;
      const m = done.map((r) => JSON.parse(r.test_metrics!) as { accuracy: number; f1_weighted: number });
      points.push({
        kind,
        sizeIndex: si,
        size: d.sizes[si]!,
        perClass: done.reduce((a, r) => a + r.train_rows, 0) / done.length / numClasses,
        runs: done.length,
        accuracy: meanStd(m.map((x) => x.accuracy)),
        f1_weighted: meanStd(m.map((x) => x.f1_weighted)),
        notes: [...new Set(cell.map((r) => r.note).filter((x): x is string => !!x))],
      });
    }
  }
  return {
    id: row.id,
    setId: row.set_id,
    datasetId: set.datasetId,
    setLabel: `${set.backboneName} · ${set.preset}`,
    kinds: d.kinds,
    mode: d.mode,
    sizes: d.sizes,
    repeats: d.repeats,
    seed: d.seed,
    numClasses,
    status: row.status,
    jobId: row.job_id,
    error: row.error,
    createdAt: row.created_at,
    done: runs.filter((r) => r.status === 'done').length,
    total: d.sizes.length * d.repeats * d.kinds.length,
    points,
    runs: runs.map((r) => ({ runId: r.run_id, kind: r.kind as ClassifierKind, sizeIndex: r.size_index, repeat: r.repeat, status: r.status, trainRows: r.train_rows, minPerClass: r.min_per_class, note: r.note })),
  };
}
