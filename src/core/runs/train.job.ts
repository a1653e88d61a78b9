/** Training one queued run, as a job. */
import { z } from 'zod';
import { classifierKind, id, jobResults } from '../../shared/contract';
import type { EpochLog } from '../classifiers/types';
import { getSetRow } from '../embeddings/queries';
import { datasetLock } from '../jobs/schedule';
import { defineJob, type JobContext } from '../jobs/types';
import { getRunToTrain, markRunInterrupted } from './queries';

/** Passes a run's epoch logs on as job events (numbers only, as the contract's event has them). */
export function epochReporter(ctx: JobContext): (runId: number, log: EpochLog) => void {
  return (runId, log) => {
    const logs: Record<string, number> = {};
    for (const [k, v] of Object.entries(log)) if (typeof v === 'number') logs[k] = v;
    ctx.epoch(runId, log.epoch, logs);
  };
}

export const trainJob = defineJob({
  kind: 'train',
  params: z.object({ runId: id, kind: classifierKind.optional() }).strict(),
  result: jobResults.train,
  resource: 'compute',
  locks: (p, db) => {
    const run = getRunToTrain(db, p.runId);
    return datasetLock(run ? getSetRow(db, run.set_id)?.dataset_id : null);
  },
  label: (p) => `Train ${p.kind ?? 'run'} (run ${p.runId})`,
  onInterrupted: (db, _job, p, reason) => markRunInterrupted(db, p.runId, reason),
  async run(p, ctx) {
    const { executeRun } = await import('./train-run');
    return executeRun(ctx.db, p.runId, {
      signal: ctx.signal,
      onEpoch: epochReporter(ctx),
      onProgress: (g) => ctx.progress(g.phase, g.done, g.total),
    });
  },
});
