import { LabError, throwIfAborted } from '../errors';
import type { JobContext } from './types';

/** The self-test job: proves the job process, progress events and cancel end to end. */
export async function selftestJob(params: unknown, ctx: JobContext): Promise<{ steps: number }> {
  const p = params as { steps: number; stepMs: number; failAt?: number };
  for (let i = 0; i < p.steps; i++) {
    throwIfAborted(ctx.signal);
    if (p.failAt !== undefined && i === p.failAt) throw new LabError('job_failed', `Self-test failed on purpose at step ${i}.`);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, p.stepMs);
      ctx.signal.addEventListener('abort', () => { clearTimeout(t); resolve(); }, { once: true });
    });
    throwIfAborted(ctx.signal);
    ctx.progress('step', i + 1, p.steps);
  }
  return { steps: p.steps };
}
