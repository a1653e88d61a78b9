/**
 * Every job kind, one line each. A kind is declared beside its feature with `defineJob` (see
 * jobs/types.ts); the contract lists its result schema (shared/api/jobs.ts). The host's job manager
 * and the job process both read this table.
 */
import { backboneDownloadJob } from './backbones/download.job';
import { downloadJob } from './datasets/download.job';
import { importJob } from './datasets/import.job';
import { embedJob } from './embeddings/embed.job';
import { experimentJob } from './experiment/experiment.job';
import { selftestJob } from './jobs/selftest.job';
import type { JobRegistry } from './jobs/types';
import { mapJob } from './map/map.job';
import { probeJob } from './predict/probe.job';
import { trainJob } from './runs/train.job';
import { sweepJob } from './sweeps/sweep.job';

export const jobKinds: JobRegistry = {
  selftest: selftestJob,
  import: importJob,
  download: downloadJob,
  'backbone-download': backboneDownloadJob,
  embed: embedJob,
  train: trainJob,
  experiment: experimentJob,
  probe: probeJob,
  map: mapJob,
  sweep: sweepJob,
};
