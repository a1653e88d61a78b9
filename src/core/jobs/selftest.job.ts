/** The self-test job: proves the job process, progress events and cancel end to end. */
import { jobResults, labApi } from '../../shared/contract';
import { LabError, throwIfAborted } from '../errors';
import { defineJob } from './types';

export const selftestJob = defineJob({
  kind: 'selftest',
  params: labApi['selftest.start'].input,
  result: jobResults.selftest,
  resource: 'light',
  label: (p) => `Self-test (${p.steps} steps)`,
  async run(p, ctx) {
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
  },
});
