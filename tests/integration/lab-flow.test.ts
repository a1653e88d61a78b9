/**
 * The whole engine through the contract, as a host drives it: real SQLite file, real job processes.
 * Fixture CIFAR-10 archive -> raw-pixels embedding set -> every classifier kind -> compare, export,
 * misclassified, probe (two fixture images), map; then a fresh engine on the same file predicts the
 * same labels (models survive a restart).
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { predictWithRun } from '../../src/core/runs/models/queries';
import { loadSetMatrix } from '../../src/core/embeddings/queries';
import { fixtures, tempDir } from '../helpers';

const t = tempDir();
const dbPath = path.join(t.dir, 'lab.db');
let lab: Lab;
let datasetId = 0;
let setId = 0;
const runIds: number[] = [];
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'cifar/expected.json'), 'utf8'));

beforeAll(() => {
  lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
});
afterAll(async () => {
  await lab.close();
  t.cleanup();
});

async function finish(jobPromise: Promise<{ id: string }>): Promise<{ status: string; error: string | null; result: unknown }> {
  const job = await jobPromise;
  return lab.jobs.wait(job.id);
}

describe('engine flow through the contract', () => {
  it('imports the fixture CIFAR-10 archive as a job', async () => {
    const end = await finish(lab.call('datasets.import', { source: { type: 'cifar', path: path.join(fixtures, 'cifar/cifar-10-python.tar.gz') } }));
    expect(end.error).toBeNull();
    expect(end.status).toBe('done');
    const [ds] = await lab.call('datasets.list', {});
    datasetId = ds!.id;
    expect(ds!.name).toBe('CIFAR-10');
    expect(ds!.fingerprint).toBe(expected.cifar10.fingerprint);
    expect(ds!.perClass.train).toEqual(expected.cifar10.train_label_counts);
    expect(ds!.counts.train + ds!.counts.test).toBe(120);
    const page = await lab.call('samples.list', { datasetId, split: 'test', limit: 5 });
    expect(page.total).toBe(20);
    expect(page.items[0]!.thumb).toMatch(/^data:image\/png;base64,/);
  });

  it('refuses a second dataset with the same name at once', async () => {
    const r = await lab.dispatch('datasets.import', { source: { type: 'cifar', path: path.join(fixtures, 'cifar/cifar-10-python.tar.gz') }, name: 'CIFAR-10' });
    expect(r).toMatchObject({ ok: false, error: { code: 'conflict' } });
  });

  it('embeds it with the raw-pixels baseline', async () => {
    const raw = (await lab.call('backbones.list', {})).find((b) => b.name === 'raw-pixels')!;
    const end = await finish(lab.call('embeddings.start', { datasetId, backboneId: raw.id, preset: 'resize-224', provider: 'cpu' }));
    expect(end.error).toBeNull();
    const [set] = await lab.call('sets.list', {});
    setId = set!.id;
    expect(set).toMatchObject({ status: 'done', done: 120, total: 120, dim: 3072 });
  });

  it('trains every kind and compares them', async () => {
    const params: Record<string, Record<string, unknown>> = { mlp: { epochs: 5 }, keras: { epochs: 5 }, svc: {}, logreg: { cGrid: [0.01, 1] }, knn: { k: 5 } };
    for (const kind of ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const) {
      const job = await lab.call('runs.start', { setId, kind, params: params[kind], seed: 1 });
      const end = await lab.jobs.wait(job.id);
      expect(end.error, kind).toBeNull();
      expect(end.status, kind).toBe('done');
    }
    const rows = await lab.call('runs.compare', { setId });
    expect(rows.map((r) => r.kind).sort()).toEqual(['keras', 'knn', 'logreg', 'mlp', 'svc']);
    for (const r of rows) {
      expect(r.status).toBe('done');
      expect(typeof r.test_accuracy).toBe('number');
      expect(typeof r.train_f1_macro).toBe('number');
      runIds.push(r.id as number);
    }
    const mlp = await lab.call('runs.get', { id: rows.find((r) => r.kind === 'mlp')!.id as number });
    expect(mlp.epochs.length).toBeGreaterThanOrEqual(5);
    expect(mlp.metrics.test!.confusion.flat().reduce((a, b) => a + b, 0)).toBe(20);
  });

  it('rejects invalid classifier params before creating a run', async () => {
    const before = (await lab.call('runs.list', { setId })).length;
    const r = await lab.dispatch('runs.start', { setId, kind: 'knn', params: { k: 0 } });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect((await lab.call('runs.list', { setId })).length).toBe(before);
  });

  it('lists misclassified test samples with every run\'s prediction', async () => {
    const m = await lab.call('runs.misclassified', { setId, runIds, limit: 10 });
    expect(m.total).toBeGreaterThan(0);
    expect(Object.keys(m.items[0]!.predictions).length).toBe(runIds.length);
  });

  it('tries two images: predictions of every run, 8 neighbours, an OOD score; kept in the database', async () => {
    const images = ['img00_32x32_RGB.jpg', 'img05_300x500_RGB.png'].map((n) => ({ name: n, dataBase64: fs.readFileSync(path.join(fixtures, 'images', n)).toString('base64') }));
    const end = await finish(lab.call('probe.start', { setId, images }));
    expect(end.error).toBeNull();
    const probes = await lab.call('probes.list', { setId });
    expect(probes).toHaveLength(2);
    for (const p of probes) {
      expect(p.predictions.map((x) => x.kind).sort()).toEqual(['keras', 'knn', 'logreg', 'mlp', 'svc']);
      for (const pr of p.predictions) {
        expect(pr.top).toHaveLength(3);
        expect(pr.top[0]!.prob).toBeGreaterThanOrEqual(pr.top[1]!.prob);
      }
      expect(p.neighbors).toHaveLength(8);
      expect(p.neighbors[0]!.similarity).toBeGreaterThanOrEqual(p.neighbors[7]!.similarity);
      expect(p.ood.percentile).toBeGreaterThanOrEqual(0);
      expect(p.ood.percentile).toBeLessThanOrEqual(1);
    }
  });

  it('computes an embedding map', async () => {
    const end = await finish(lab.call('map.start', { setId, n: 100, seed: 3 }));
    expect(end.error).toBeNull();
    const m = await lab.call('map.get', { setId });
    expect(m!.points).toHaveLength(100);
    expect(m!.points.every((p) => Number.isFinite(p.x) && Number.isFinite(p.y))).toBe(true);
  });

  it('exports the embeddings', async () => {
    const out = path.join(t.dir, 'export');
    const r = await lab.call('embeddings.export', { setId, outDir: out });
    expect(r.rows).toBe(120);
    expect(fs.readFileSync(r.files.samples, 'utf8').split('\n')[0]).toBe('index,sample_id,split,label,class,source');
  });

  it('reloads every model from the database after a restart and predicts the same labels', async () => {
    const { X } = loadSetMatrix(lab.db, setId, 'test');
    const before = new Map<number, Int32Array>();
    for (const id of runIds) before.set(id, (await predictWithRun(lab.db, id, X)).predicted);
    await lab.close();
    lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    for (const id of runIds) expect(Array.from((await predictWithRun(lab.db, id, X)).predicted)).toEqual(Array.from(before.get(id)!));
  });
});
