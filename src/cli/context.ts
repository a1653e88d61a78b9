/** What every `dinolab` command gets, and the helpers that follow a job to its end. */
import { isJobOf, type Job, type JobKind, type JobOf } from '../shared/contract';
import { LabError } from '../core/errors';
import type { Lab } from '../core/lab';
import { approxDuration } from './format';

export interface CliIO {
  out: (s: string) => void;
  err: (s: string) => void;
}

export interface Ctx {
  args: string[];
  flags: Record<string, string | boolean | string[] | undefined>;
  json: boolean;
  io: CliIO;
  lab: (host?: 'cli' | 'web') => Lab;
}

export type Command = { usage: string; doc: string; run: (c: Ctx) => Promise<number> };

/** Waits for a job, printing progress on stderr, and returns its final state. */
export async function followJob<K extends JobKind>(lab: Lab, job: JobOf<K>, io: CliIO, quiet: boolean): Promise<JobOf<K>> {
  const off = lab.subscribe((ev) => {
    if (quiet || ev.name !== 'job.progress' || ev.payload.jobId !== job.id) return;
    const p = ev.payload;
    const pct = p.total ? ((100 * p.done) / p.total).toFixed(1) : '?';
    const rate = p.ratePerSec ? ` ${p.ratePerSec.toFixed(1)}/s` : '';
    const eta = p.etaSec !== null && p.etaSec !== undefined ? ` ETA ${approxDuration(p.etaSec)}` : '';
    io.err(`${job.label}: ${p.phase} ${p.done}/${p.total} (${pct}%)${rate}${eta}`);
  });
  const onSigint = (): void => {
    io.err('Cancelling...');
    lab.jobs.cancel(job.id);
  };
  process.on('SIGINT', onSigint);
  try {
    const end = await lab.jobs.wait(job.id);
    if (!isJobOf(end, job.kind)) throw new LabError('internal', `Job ${job.id} changed its kind.`);
    return end;
  } finally {
    off();
    process.off('SIGINT', onSigint);
  }
}

export function jobExit(job: Job, c: Ctx): number {
  if (job.status === 'done') return 0;
  c.io.err(`${job.label}: ${job.status}${job.error ? `: ${job.error}` : ''}`);
  return job.status === 'cancelled' ? 130 : 1;
}

