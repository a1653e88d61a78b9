/**
 * Concurrency (issue 7): two jobs writing the same embedding set are refused with a message, and the
 * host's event loop keeps answering while an embedding job runs (it runs in its own process). The
 * figures for the acceptance target (p99 < 50 ms) come from `npm run bench -- eventloop`; here the bound
 * is loose because the suite shares two cores with other test files.
 */
import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { tinyBackbone } from '../../src/core/backbones/tiny-models';
import { tempDir } from '../helpers';
import { record } from './record';
import { counts, nextEvent } from './util';

const t = tempDir('dinolab-conc-');
const dbPath = path.join(t.dir, 'lab.db');
let lab: Lab;
let datasetId = 0;
let backboneId = 0;

beforeAll(async () => {
  lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
  const imp = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 400, test: 100 } })).id);
  datasetId = (imp.result as { datasetId: number }).datasetId;
  fs.writeFileSync(path.join(t.dir, 'tiny.onnx'), tinyBackbone({ dim: 16 }));
  backboneId = (await lab.call('backbones.add', { file: path.join(t.dir, 'tiny.onnx') })).id;
});
afterAll(async () => {
  await lab.close();
  t.cleanup();
});

describe('concurrency', () => {
  it('a second embeddings.start for the same dataset/backbone/preset while the first runs is refused (busy)', async () => {
    const input = { datasetId, backboneId, preset: 'resize-224', provider: 'cpu', batchSize: 8 } as const;
    const first = await lab.call('embeddings.start', input);
    await nextEvent(lab, (e) => e.name === 'job.progress' && e.payload.jobId === first.id && e.payload.phase === 'embedding' && e.payload.done > 0);
    const jobsBefore = counts(dbPath, ['jobs']).jobs;
    const second = await lab.dispatch('embeddings.start', input);
    const third = await lab.dispatch('embeddings.start', { ...input, batchSize: 32, provider: 'auto' }); // same set, other options
    expect(second).toEqual({ ok: false, error: { code: 'busy', message: `Another job (${first.id.slice(0, 8)}) is already working on this; wait for it or cancel it.` } });
    expect(third).toMatchObject({ ok: false, error: { code: 'busy' } });
    expect(counts(dbPath, ['jobs']).jobs).toBe(jobsBefore);
    const end = await lab.jobs.wait(first.id);
    expect(end.status).toBe('done');
    const setId = (end.result as { setId: number }).setId;
    const c = lab.db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT sample_id) AS d FROM embeddings WHERE set_id = ?').get(setId) as { n: number; d: number };
    expect(c).toEqual({ n: 500, d: 500 });
    // Once it is done, starting it again is allowed (and finds nothing left to do).
    const again = await lab.jobs.wait((await lab.call('embeddings.start', input)).id);
    expect(again.result).toMatchObject({ setId, computed: 0, done: 500 });
    record({
      fault: 'embeddings.start twice more (same options, and other batch size/provider) for a set whose job is running',
      outcome: `busy: "${!second.ok ? second.error.message : ''}" (both)`,
      checked: 'no job row added; the first job finished with COUNT(*) = COUNT(DISTINCT sample_id) = 500; a later start is accepted and computes 0',
    });
  });

  it('the host event loop keeps answering calls while an embedding job runs', async () => {
    const other = await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 600, test: 100 }, name: 'loop-test' });
    const ds = (await lab.jobs.wait(other.id)).result as { datasetId: number };
    // The first info call loads TensorFlow.js into the host (~0.5 s, once): warm it before measuring.
    await lab.call('info', {});
    const h = monitorEventLoopDelay({ resolution: 5 });
    // JS preprocessing: the slower path (the in-graph one finishes 700 images with this tiny model in well
    // under a second, before enough calls are made), and the one that keeps the job process busiest.
    const job = await lab.call('embeddings.start', { datasetId: ds.datasetId, backboneId, preset: 'dinov2-eval', provider: 'cpu', batchSize: 16, preprocessing: 'js' });
    await nextEvent(lab, (e) => e.name === 'job.progress' && e.payload.jobId === job.id && e.payload.phase === 'embedding');
    h.enable();
    const latencies: number[] = [];
    let progress = 0;
    const off = lab.subscribe((e) => e.name === 'job.progress' && e.payload.jobId === job.id && progress++);
    while (lab.jobs.get(job.id).status === 'running' && latencies.length < 200) {
      const t0 = performance.now();
      await lab.call('sets.list', {});
      await lab.call('info', {});
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
    h.disable();
    off();
    await lab.jobs.wait(job.id);
    const p99 = h.percentile(99) / 1e6;
    const max = Math.max(...latencies);
    record({
      fault: 'host calls (sets.list + info every 20 ms) while a CPU embedding job of 700 images runs',
      outcome: `${latencies.length} call pairs answered, slowest ${max.toFixed(1)} ms; event-loop delay p50 ${(h.percentile(50) / 1e6).toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${(h.max / 1e6).toFixed(1)} ms; ${progress} progress events`,
      checked: 'p99 < 250 ms and every call < 1 s here (shared CPUs); the < 50 ms target is measured by bench/eventloop.ts',
    });
    expect(latencies.length).toBeGreaterThan(10);
    expect(progress).toBeGreaterThan(0);
    expect(max).toBeLessThan(1000);
    expect(p99).toBeLessThan(250);
  });
});
