/**
 * One queue for everything, with real job processes: a light job (an import) runs beside a compute job
 * instead of waiting behind it; compute jobs stay one at a time; a queued job says how many are ahead.
 * The compute job is the self-test declared 'compute' in this host's registry (the job process runs the
 * real self-test), so the test controls how long it holds the compute slot.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LabEvent } from '../../src/shared/contract';
import { openDatabase, type Db } from '../../src/core/db/database';
import { resolveEntry } from '../../src/core/entry';
import { jobKinds } from '../../src/core/job-kinds';
import { JobManager } from '../../src/core/jobs/manager';
import { tempDir } from '../helpers';

const t = tempDir();
let db: Db;
let jobs: JobManager;
const events: LabEvent[] = [];

beforeAll(() => {
  const dbPath = path.join(t.dir, 'lab.db');
  db = openDatabase(dbPath);
  jobs = new JobManager({
    db,
    dbPath,
    dataDir: t.dir,
    emit: (ev) => events.push(ev),
    kinds: { ...jobKinds, selftest: { ...jobKinds.selftest, resource: 'compute' } },
    runner: resolveEntry(new URL('../../src/core/lab.ts', import.meta.url).href, 'job-process'),
  });
});
afterAll(async () => {
  await jobs.close();
  db.close();
  t.cleanup();
});

describe('the job queue', () => {
  it('runs an import beside a compute job, keeps compute one at a time and counts the jobs ahead', async () => {
    const compute = jobs.start('selftest', { steps: 40, stepMs: 200 });
    const second = jobs.start('selftest', { steps: 1, stepMs: 10 });
    expect(second.status).toBe('queued');
    expect(second.ahead).toBe(1);
    expect(events.find((e) => e.name === 'job.queued' && e.payload.jobId === second.id)).toMatchObject({ payload: { ahead: 1 } });

    const imp = jobs.start('import', { source: { type: 'sample', name: 'shapes10' } });
    expect(imp.ahead).toBeNull();
    const ended = await jobs.wait(imp.id);
    expect(ended.error).toBeNull();
    expect(ended.status).toBe('done');
    // The import ended while the compute job still ran, and the second compute job had not started.
    expect(jobs.get(compute.id).status).toBe('running');
    expect(jobs.get(second.id).status).toBe('queued');

    jobs.cancel(compute.id);
    expect((await jobs.wait(second.id)).status).toBe('done');
  }, 60_000);
});
