/** A label-efficiency sweep, as one job: progress per run, cancellable, resumable. */
import { z } from 'zod';
import { id, jobResults } from '../../shared/contract';
import { defineJob } from '../jobs/types';
import { markJobRunsInterrupted } from '../runs/queries';
import { epochReporter } from '../runs/train.job';
import { markSweepInterrupted } from './queries';

export const sweepJob = defineJob({
  kind: 'sweep',
  params: z.object({ sweepId: id }).strict(),
  result: jobResults.sweep,
  resource: 'compute',
  label: (p) => `Label sweep ${p.sweepId}`,
  exclusiveKey: (p) => `sweep:${p.sweepId}`,
  onInterrupted: (db, job, p, reason) => {
    markJobRunsInterrupted(db, job.id, reason);
    markSweepInterrupted(db, p.sweepId, reason);
  },
  async run(p, ctx) {
    const { runSweep } = await import('./sweep');
    return runSweep(ctx.db, p.sweepId, { signal: ctx.signal, jobId: ctx.jobId, onEpoch: epochReporter(ctx), onProgress: (done, total, phase) => ctx.progress(phase, done, total) });
  },
});
