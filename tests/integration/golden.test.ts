/**
 * Golden results: the seeded outcome of every classifier kind and of the offline demo, pinned as
 * hashes of what a user gets (test predictions and probabilities, metrics, epoch logs, embedding
 * vectors). Written on the code as it stood before the structure change (issue 11) so that a
 * refactor that changes any number, however slightly, fails here. Timings are left out: they vary.
 *
 * GOLDEN_WRITE=1 rewrites golden.json instead of comparing (only ever on purpose, with a reason in
 * the commit that does it).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { insertBlobEmbeddingSet } from '../../src/core/runs/test-helpers';
import { tempDir } from '../helpers';

const goldenFile = path.join(path.dirname(new URL(import.meta.url).pathname), 'golden.json');
const writing = process.env.GOLDEN_WRITE === '1';
const golden: Record<string, unknown> = fs.existsSync(goldenFile) ? JSON.parse(fs.readFileSync(goldenFile, 'utf8')) : {};
const fresh: Record<string, unknown> = {};

const t = tempDir();
let lab: Lab;

beforeAll(() => {
  lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
});
afterAll(async () => {
  await lab.close();
  t.cleanup();
  if (writing) fs.writeFileSync(goldenFile, JSON.stringify({ ...golden, ...fresh }, null, 2) + '\n');
});

const sha = (b: Buffer | string): string => crypto.createHash('sha256').update(b).digest('hex').slice(0, 24);

/** Everything a finished run stored that a user sees, timings excepted. */
function runFingerprint(runId: number): Record<string, unknown> {
  const db = lab.db;
  const run = db.prepare('SELECT kind, params, seed, status, error, backend, fingerprint FROM runs WHERE id = ?').get(runId) as Record<string, unknown>;
  const preds = db.prepare('SELECT sample_id, predicted, proba FROM predictions WHERE run_id = ? ORDER BY sample_id').all(runId) as {
    sample_id: number;
    predicted: number;
    proba: Buffer;
  }[];
  const h = crypto.createHash('sha256');
  for (const p of preds) {
    h.update(`${p.sample_id}:${p.predicted}:`);
    h.update(p.proba);
  }
  const metrics = db.prepare('SELECT split, metrics FROM metrics WHERE run_id = ? ORDER BY split').all(runId) as { split: string; metrics: string }[];
  const epochs = db.prepare('SELECT epoch, logs FROM epochs WHERE run_id = ? ORDER BY epoch').all(runId) as { epoch: number; logs: string }[];
  const test = metrics.find((m) => m.split === 'test');
  return {
    kind: run.kind,
    params: JSON.parse(String(run.params)),
    seed: run.seed,
    status: run.status,
    error: run.error,
    backend: run.backend,
    testAccuracy: test ? (JSON.parse(test.metrics) as { accuracy: number }).accuracy : null,
    predictions: preds.length,
    predictionsSha: h.digest('hex').slice(0, 24),
    metricsSha: sha(metrics.map((m) => `${m.split}=${m.metrics}`).join('\n')),
    epochs: epochs.length,
    epochsSha: sha(epochs.map((e) => `${e.epoch}=${e.logs}`).join('\n')),
  };
}

function setFingerprint(setId: number): Record<string, unknown> {
  const rows = lab.db.prepare('SELECT sample_id, vector FROM embeddings WHERE set_id = ? ORDER BY sample_id').all(setId) as { sample_id: number; vector: Buffer }[];
  const h = crypto.createHash('sha256');
  for (const r of rows) {
    h.update(`${r.sample_id}:`);
    h.update(r.vector);
  }
  return { vectors: rows.length, sha: h.digest('hex').slice(0, 24) };
}

function check(key: string, value: unknown): void {
  fresh[key] = value;
  if (writing) return;
  expect(golden[key], `no golden value for ${key}: generate golden.json on the reference commit`).toBeDefined();
  expect(value).toEqual(golden[key]);
}

describe('golden seeded results', () => {
  it('every classifier kind on a seeded blob set gives the pinned predictions, probabilities and metrics', async () => {
    const { setId } = insertBlobEmbeddingSet(lab.db, { numClasses: 4, dim: 16, trainPerClass: 60, testPerClass: 25, separation: 0.8, seed: 7, name: 'golden-blobs' });
    const params: Record<string, Record<string, unknown>> = {
      mlp: { epochs: 8 },
      keras: { epochs: 6 },
      svc: {},
      logreg: { cGrid: [0.01, 0.1, 1, 10] },
      knn: { k: 7 },
    };
    for (const kind of ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const) {
      for (const seed of [0, 3]) {
        const job = await lab.call('runs.start', { setId, kind, params: params[kind], seed });
        const end = await lab.jobs.wait(job.id);
        expect(end.error, `${kind} seed ${seed}`).toBeNull();
        const runId = (lab.db.prepare('SELECT id FROM runs WHERE job_id = ?').get(job.id) as { id: number }).id;
        check(`blobs.${kind}.seed${seed}`, runFingerprint(runId));
      }
    }
    // The study's own option: mlp selecting its best epoch on the test split.
    const job = await lab.call('runs.start', { setId, kind: 'mlp', params: { epochs: 6, selectOn: 'test' }, seed: 1 });
    await lab.jobs.wait(job.id);
    const runId = (lab.db.prepare('SELECT id FROM runs WHERE job_id = ?').get(job.id) as { id: number }).id;
    check('blobs.mlp.selectOnTest', runFingerprint(runId));
  });

  it('the offline demo gives the pinned embeddings and runs', async () => {
    const job = await lab.call('experiment.start', { demo: true });
    const end = await lab.jobs.wait(job.id);
    expect(end.error).toBeNull();
    expect(end.status).toBe('done');
    const sets = lab.db
      .prepare(`SELECT es.id, b.name AS backbone, es.preset FROM embedding_sets es JOIN backbones b ON b.id = es.backbone_id JOIN datasets d ON d.id = es.dataset_id WHERE d.name = 'Shapes-10 demo' ORDER BY es.id`)
      .all() as { id: number; backbone: string; preset: string }[];
    expect(sets.length).toBe(2);
    for (const s of sets) {
      check(`demo.set.${s.backbone}`, { preset: s.preset, ...setFingerprint(s.id) });
      const runs = lab.db.prepare('SELECT id, kind FROM runs WHERE set_id = ? ORDER BY id').all(s.id) as { id: number; kind: string }[];
      for (const r of runs) check(`demo.run.${s.backbone}.${r.kind}`, runFingerprint(r.id));
    }
  }, 900_000);
});
