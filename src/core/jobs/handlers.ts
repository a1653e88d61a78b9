/**
 * The code of each job kind, run inside the job process. Heavy modules are imported lazily so a job
 * process loads only what its kind needs.
 */
import type { JobHandler, JobKind } from './types';
import { selftestJob } from './selftest';

export const jobHandlers: Partial<Record<JobKind, JobHandler>> = {
  selftest: selftestJob,
};
