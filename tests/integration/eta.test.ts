/**
 * Know before you wait, through the real job runner (a job process per job): a training job's and an
 * experiment's progress events carry an ETA from the first event on (from the pre-start estimate, before
 * any step is done), and it matches what `runs.estimate` / `experiment.estimate` said before the start.
 * The CLI prints the estimate before it starts and the ETA while it runs.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPayload, LabEvent } from '../../src/shared/contract';
import { Lab } from '../../src/core/lab';
import { insertBlobEmbeddingSet } from '../../src/core/runs/test-helpers';
import { projectRoot, tempDir } from '../helpers';

const t = tempDir();
let lab: Lab;
let setId: number;
let datasetId: number;
let backboneId: number;
const events: LabEvent[] = [];

beforeAll(() => {
  lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
  ({ setId, datasetId } = insertBlobEmbeddingSet(lab.db, { name: 'Blobs', numClasses: 3, dim: 16, trainPerClass: 100, testPerClass: 20, seed: 5 }));
  backboneId = (lab.db.prepare('SELECT backbone_id AS id FROM embedding_sets WHERE id = ?').get(setId) as { id: number }).id;
  lab.subscribe((ev) => events.push(ev));
});
afterAll(async () => {
  await lab.close();
  t.cleanup();
});

const progressOf = (jobId: string): EventPayload<'job.progress'>[] =>
  events.flatMap((e) => (e.name === 'job.progress' && e.payload.jobId === jobId ? [e.payload] : []));

describe('the ETA in job progress', () => {
  it('a training job reports an ETA from its first progress event, starting at the pre-start estimate', async () => {
    const est = await lab.call('runs.estimate', { setId, kind: 'svc' });
    // No svc run on this database: the committed reference rates, said so.
    expect(est.reference).toBe(true);
    expect(est.seconds).toBeGreaterThan(0);
    const job = await lab.call('runs.start', { setId, kind: 'svc' });
    const end = await lab.jobs.wait(job.id);
    expect(end.status, end.error ?? '').toBe('done');
    const p = progressOf(job.id);
    expect(p.length).toBeGreaterThan(0);
    // The first event is the load phase, nothing done yet: its ETA is the whole estimate.
    expect(p[0]).toMatchObject({ phase: 'load', done: 0 });
    expect(p[0]!.etaSec).not.toBeNull();
    expect(p[0]!.etaSec!).toBeCloseTo(est.seconds!, 6);
    // Every event while it ran told an ETA (never a negative one).
    for (const e of p.slice(0, -1)) {
      expect(e.etaSec, `${e.phase} ${e.done}/${e.total}`).not.toBeNull();
      expect(e.etaSec!).toBeGreaterThanOrEqual(0);
    }
    // Once run, the next estimate scales from this machine's run.
    expect(await lab.call('runs.estimate', { setId, kind: 'svc' })).toMatchObject({ reference: false });
  }, 120_000);

  it('an experiment reports an ETA over the runs still to come, starting at its pre-start estimate', async () => {
    const input = { datasetId, backboneIds: [backboneId], preset: 'resize-224' as const, kinds: ['logreg' as const, 'knn' as const] };
    const est = await lab.call('experiment.estimate', input);
    expect(est.runs.map((r) => r.kind)).toEqual(['logreg', 'knn']);
    expect(est.seconds).toBeGreaterThan(0);
    const job = await lab.call('experiment.start', input);
    const end = await lab.jobs.wait(job.id);
    expect(end.status, end.error ?? '').toBe('done');
    const p = progressOf(job.id);
    // The set is embedded already: the first event starts the first run, with the whole estimate to go.
    expect(p[0]!.phase).toMatch(/^training logreg/);
    expect(p[0]!.etaSec!).toBeCloseTo(est.seconds!, 6);
    // While the first run trains, the ETA counts the second run too: never less than the second's estimate.
    const knn = est.runs[1]!.seconds!;
    for (const e of p.filter((x) => x.phase.startsWith('training logreg'))) expect(e.etaSec!).toBeGreaterThanOrEqual(knn * 0.999);
    // Every event told an ETA (the job process passes at most ~10 events a second, so a short run may send none).
    for (const e of p) expect(e.etaSec, `${e.phase} ${e.done}/${e.total}`).not.toBeNull();
    expect(p.at(-1)).toMatchObject({ phase: 'trained knn', done: 3, total: 3, etaSec: 0 });
  }, 120_000);
});

describe('the CLI before and while it waits', () => {
  it('dinolab experiment prints the estimate of every run before it starts, then progress with the ETA; --max-rows caps every run', () => {
    const bin = path.join(projectRoot, 'bin/dinolab.js');
    const r = spawnSync(
      process.execPath,
      [bin, '--db', lab.dbPath, 'experiment', '--dataset', 'Blobs', '--backbone', 'test-raw', '--preset', 'resize-224', '--models', 'logreg,knn', '--max-rows', '60'],
      { encoding: 'utf8' },
    );
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stderr.split('\n');
    expect(lines[0]).toMatch(/^Estimated \d+ s for 2 runs\.$/);
    // This database has run logreg and knn (the test above): scaled from those runs, 60 training rows each.
    expect(lines[1]).toMatch(/^ {2}logreg on test-raw, 60 training rows: \d+ s$/);
    expect(lines[2]).toMatch(/^ {2}knn on test-raw, 60 training rows: \d+ s$/);
    expect(r.stderr).toMatch(/Experiment: training logreg \(step 2\/3\) \d+\/3 \([\d.]+%\) ETA \d+ s/);
    const runs = lab.db.prepare("SELECT max_train_rows AS cap FROM runs WHERE kind IN ('logreg', 'knn') ORDER BY id DESC LIMIT 2").all() as { cap: number }[];
    expect(runs.map((x) => x.cap)).toEqual([60, 60]);
  }, 120_000);
});
