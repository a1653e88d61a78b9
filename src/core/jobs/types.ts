import type { z } from 'zod';
import type { jobKind } from '../../shared/contract';
import type { Db } from '../db/database';

export type JobKind = z.infer<typeof jobKind>;

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

export type JobHandler = (params: unknown, ctx: JobContext) => Promise<unknown>;
