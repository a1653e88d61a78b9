/** Params checked against the chosen set when a run starts (issue 14): k beyond the training set is refused with the limit. */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { tempDir } from '../helpers';

const t = tempDir();
let lab: Lab;
let setId = 0;

beforeAll(async () => {
  lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
  const imp = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 30, test: 10 } })).id);
  expect(imp.status).toBe('done');
  const raw = (await lab.call('backbones.list', {})).find((b) => b.name === 'raw-pixels')!;
  const datasetId = (await lab.call('datasets.list', {}))[0]!.id;
  const job = await lab.call('embeddings.start', { datasetId, backboneId: raw.id, preset: 'resize-224', provider: 'cpu' });
  const end = await lab.jobs.wait(job.id);
  expect(end.status).toBe('done');
  setId = (await lab.call('sets.list', {}))[0]!.id;
}, 120_000);
afterAll(async () => {
  await lab.close();
  t.cleanup();
});

describe('params checked against the set', () => {
  it('refuses k larger than the training set, naming the limit, and stores no run', async () => {
    const r = await lab.dispatch('runs.start', { setId, kind: 'knn', params: { k: 31 } });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    if (!r.ok) expect(r.error.message).toBe(`Invalid knn parameters for set ${setId}: k = 31 is more than the 30 training images of this set: choose k of at most 30.`);
    expect(await lab.call('runs.list', { setId })).toEqual([]);
    // At the limit it is accepted.
    const ok = await lab.call('runs.start', { setId, kind: 'knn', params: { k: 30 } });
    expect((await lab.jobs.wait(ok.id)).status).toBe('done');
  }, 60_000);
});
