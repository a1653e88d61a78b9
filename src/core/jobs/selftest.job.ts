/**
 * The self-test job: a check of the job machinery only. It waits `steps` times `stepMs` in a job process,
 * reporting progress after each wait, fails on purpose at `failAt`, and honours cancel; so it shows that a
 * job process starts, streams progress to the host and stops when asked. It computes nothing and does not
 * test the engine (models, embeddings, classifiers): the unit, integration and fault tests do that.
 */
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
