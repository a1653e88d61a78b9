/**
 * What a job kind is: `defineJob({ kind, params, result, label, resource, run, ... })` in one file beside
 * its feature (e.g. `embeddings/embed.job.ts`), listed once in `core/job-kinds.ts`. Params are validated
 * once, with the kind's schema, when a job is started; the job process and the host parse the stored
 * params with the same schema, so no code downstream casts them.
 */
import type { z } from 'zod';
import type { Job, JobKind, JobResult, jobResults } from '../../shared/contract';
import type { Db } from '../db/database';

export type { JobKind };

/** What a job's code gets in the job process. */
export interface JobContext {
  jobId: string;
  db: Db;
  dbPath: string;
  dataDir: string;
  signal: AbortSignal;
  progress(phase: string, done: number, total: number, extra?: { ratePerSec?: number | null; etaSec?: number | null }): void;
  epoch(runId: number, epoch: number, logs: Record<string, number>): void;
}

/**
 * 'compute' jobs (embedding, training) need the CPU/GPU for themselves; 'light' jobs (imports, downloads,
 * maps) run beside one: the queue runs at most one job of each class at a time (see jobs/schedule.ts).
 */
export type JobResource = 'compute' | 'light';

/** A job kind's declaration. Methods (not arrow properties) so a registry can hold every kind under one type. */
export interface JobDef<K extends JobKind = JobKind, P = unknown> {
  kind: K;
  /** The params the job is started with (stored in the jobs row, sent to the job process). */
  params: z.ZodType<P>;
  /** The contract's result schema of this kind. */
  result: (typeof jobResults)[K];
  resource: JobResource;
  /** The line shown for the job in the jobs drawer and `dinolab jobs`. */
  label(params: P): string;
  /** Jobs with the same key never run at once; a second one is refused. */
  exclusiveKey?(params: P): string | null;
  /**
   * The rows this job writes, as lock keys (`dataset:<id>`; `dataset:*` is every dataset): jobs whose keys
   * meet never run at once, the later one waits in the queue. Read once, in the host, when the job starts.
   */
  locks?(params: P, db: Db): string[];
  /** Called in the host when the job process died or was killed: leave the data resumable. */
  onInterrupted?(db: Db, job: Job, params: P, reason: string): void;
  /** The work, in the job process. Heavy modules are imported inside it, so a job process loads only what its kind needs. */
  run(params: P, ctx: JobContext): Promise<JobResult<K>>;
}

/** Declares a job kind (ties params, result and callbacks to the kind's schemas). */
export function defineJob<K extends JobKind, P>(def: JobDef<K, P>): JobDef<K, P> {
  return def;
}

/** Every kind's declaration, keyed by kind (see core/job-kinds.ts). */
export type JobRegistry = { [K in JobKind]: JobDef<K, unknown> };
