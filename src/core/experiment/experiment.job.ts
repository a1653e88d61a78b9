/** The whole study (or the offline demo) as one job: see run-experiment.ts. */
import { jobResults, labApi } from '../../shared/contract';
import { markRunningSetsPartial } from '../embeddings/queries';
import { datasetLock } from '../jobs/schedule';
import { defineJob } from '../jobs/types';
import { markJobRunsInterrupted } from '../runs/queries';

export const experimentJob = defineJob({
  kind: 'experiment',
  params: labApi['experiment.start'].input,
  result: jobResults.experiment,
  resource: 'compute',
  // The demo makes (or reuses) Shapes-10, a dataset not known before it runs: it holds every dataset.
  locks: (p) => datasetLock(p.datasetId),
  label: (p) => (p.demo ? 'Offline demo' : 'Experiment'),
  onInterrupted: (db, job, _p, reason) => {
    markJobRunsInterrupted(db, job.id, reason);
    markRunningSetsPartial(db, reason);
  },
  async run(p, ctx) {
    const { runExperiment } = await import('./run-experiment');
    return runExperiment(p, ctx);
  },
});
