/** Messages between the host's job manager and a job process. */
import type { JobKind } from './types';

export type ToJob = { type: 'run'; jobId: string; kind: JobKind; params: unknown; dbPath: string; dataDir: string } | { type: 'cancel' };

export type FromJob =
  | { type: 'progress'; phase: string; done: number; total: number; ratePerSec?: number | null; etaSec?: number | null }
  | { type: 'epoch'; runId: number; epoch: number; logs: Record<string, number> }
  | { type: 'done'; result: unknown }
  | { type: 'failed'; code: string; message: string }
  | { type: 'cancelled' };
