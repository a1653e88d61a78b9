/**
 * Jobs in the contract: every job kind with the schema of its result, from which the job type (a union
 * by kind), the job events and the jobs calls are derived. A new kind adds one line here, beside the
 * result schema its domain file declares.
 */
import { z } from 'zod';
import { backboneDownloadResult } from './backbones';
import { jobOf, method } from './common';
import { importResult } from './datasets';
import { embedResult } from './embeddings';
import { mapJobResult, probeJobResult } from './predict';
import { sweepJobResult } from './sweeps';
import { selftestResult } from './system';
import { experimentResult, trainResult } from './training';

/** The result schema of each job kind. */
export const jobResults = {
  selftest: selftestResult,
  import: importResult,
  download: importResult,
  'backbone-download': backboneDownloadResult,
  embed: embedResult,
  train: trainResult,
  experiment: experimentResult,
  probe: probeJobResult,
  map: mapJobResult,
  sweep: sweepJobResult,
} as const;

export type JobKind = keyof typeof jobResults;
export const JOB_KINDS = Object.keys(jobResults) as [JobKind, ...JobKind[]];
export const jobKind = z.enum(JOB_KINDS);
/** The result a job of kind K returns when it is done. */
export type JobResult<K extends JobKind> = z.output<(typeof jobResults)[K]>;

/** A job as persisted in the `jobs` table; `result` has its kind's schema. */
export const job = z.discriminatedUnion('kind', [
  jobOf('selftest', jobResults.selftest),
  jobOf('import', jobResults.import),
  jobOf('download', jobResults.download),
  jobOf('backbone-download', jobResults['backbone-download']),
  jobOf('embed', jobResults.embed),
  jobOf('train', jobResults.train),
  jobOf('experiment', jobResults.experiment),
  jobOf('probe', jobResults.probe),
  jobOf('map', jobResults.map),
  jobOf('sweep', jobResults.sweep),
]);
export type Job = z.infer<typeof job>;
/** Compile-time check that the union above (and job.finished's below) has a member for every kind of `jobResults`. */
type EveryKind<T extends JobKind> = [Exclude<JobKind, T>] extends [never] ? true : never;
const everyJobKind: EveryKind<Job['kind']> = true;
/** A job of one kind. */
export type JobOf<K extends JobKind> = Extract<Job, { kind: K }>;
/** Narrows a job to one kind (a check, not a cast). */
export function isJobOf<K extends JobKind>(j: Job, kind: K): j is JobOf<K> {
  return j.kind === kind;
}

const finishedOf = <K extends JobKind, R extends z.ZodType>(kind: K, result: R) =>
  z.object({ jobId: z.string(), kind: z.literal(kind), result: result.nullable() });

/** `job.finished`: the job's id and kind with its result (null only for a row written by another version). */
export const jobFinished = z.discriminatedUnion('kind', [
  finishedOf('selftest', jobResults.selftest),
  finishedOf('import', jobResults.import),
  finishedOf('download', jobResults.download),
  finishedOf('backbone-download', jobResults['backbone-download']),
  finishedOf('embed', jobResults.embed),
  finishedOf('train', jobResults.train),
  finishedOf('experiment', jobResults.experiment),
  finishedOf('probe', jobResults.probe),
  finishedOf('map', jobResults.map),
  finishedOf('sweep', jobResults.sweep),
]);

const everyFinishedKind: EveryKind<z.infer<typeof jobFinished>['kind']> = true;
void everyJobKind;
void everyFinishedKind;

export const jobsApi = {
  'jobs.list': method(z.object({ limit: z.number().int().min(1).max(1000).default(100) }).strict(), z.array(job), 'Recent jobs, newest first.'),
  'jobs.get': method(z.object({ id: z.string().min(1) }).strict(), job, 'One job.'),
  'jobs.cancel': method(z.object({ id: z.string().min(1) }).strict(), job, 'Cancel a queued or running job.'),
} as const;

