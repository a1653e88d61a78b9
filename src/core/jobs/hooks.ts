/** Host-side hooks per job kind: labels shown in the jobs drawer and cleanup after a killed job. */
import type { JobKindHooks } from './manager';
import type { JobKind } from './types';

export const jobHooks: Partial<Record<JobKind, JobKindHooks>> = {
  selftest: { label: (p) => `Self-test (${(p as { steps: number }).steps} steps)` },
};
