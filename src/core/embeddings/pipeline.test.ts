import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type Db, blobToF32, openDatabase } from '../db/database';
import { addBackboneFile, ensureBuiltinBackbones, listBackbones } from '../backbones/registry';
import { nanModel, tinyBackbone } from '../backbones/tiny-models';
import { LabError } from '../errors';
import { type EmbedProgress, createEmbeddingSet, runEmbeddingSet } from './pipeline';
import { deleteSet, getSet, listSets, loadSetMatrix } from './queries';
import { insertPixelDataset, pixelLoader } from './testing/fixture-db';

const root = process.cwd();
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-pipeline-'));
const modelsDir = path.join(dir, 'models');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let dbCount = 0;
async function setup(n: number, model: Uint8Array | 'raw-pixels' = tinyBackbone()): Promise<{ db: Db; file: string; setId: number; datasetId: number }> {
  const file = path.join(dir, `lab${++dbCount}.db`);
  const db = openDatabase(file);
  const datasetId = insertPixelDataset(db, 'pix', n);
  let backboneId: number;
  if (model === 'raw-pixels') {
    ensureBuiltinBackbones(db, modelsDir);
    backboneId = listBackbones(db).find((b) => b.name === 'raw-pixels')!.id;
  } else {
    const mf = path.join(dir, `model${dbCount}.onnx`);
    fs.writeFileSync(mf, model);
    backboneId = (await addBackboneFile(db, mf)).id;
  }
  const setId = createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' });
  return { db, file, setId, datasetId };
}

function vectors(db: Db, setId: number): Map<number, Float32Array> {
  const rows = db.prepare('SELECT sample_id, vector FROM embeddings WHERE set_id = ?').all(setId) as { sample_id: number; vector: Buffer }[];
  return new Map(rows.map((r) => [r.sample_id, new Float32Array(blobToF32(r.vector))]));
}

describe('runEmbeddingSet', () => {
  it('embeds every sample once, records the run, and a rerun of the same triple reuses the set', async () => {
    const { db, setId, datasetId } = await setup(30);
    const progress: EmbedProgress[] = [];
    const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 8, loadImage: pixelLoader(db), onProgress: (p) => progress.push(p) });
    expect(s).toMatchObject({ status: 'done', done: 30, total: 30, computed: 30, provider: 'cpu', batchSize: 8 });
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ phase: 'embedding', done: 30, total: 30, etaSec: 0 });
    expect(progress.filter((p) => p.phase === 'embedding').map((p) => p.done)).toEqual([0, 8, 16, 24, 30]);
    const info = getSet(db, setId);
    expect(info).toMatchObject({ status: 'done', provider: 'cpu', batchSize: 8, done: 30, total: 30, dim: 8, preset: 'resize-224' });
    expect(info.imagesPerSec).toBeGreaterThan(0);
    expect(info.seconds).toBeGreaterThan(0);
    const backboneId = info.backboneId;
    expect(createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' })).toBe(setId);
    expect(createEmbeddingSet(db, { datasetId, backboneId, preset: 'dinov2-eval' })).not.toBe(setId);
    // Running a finished set again computes nothing.
    const again = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', loadImage: pixelLoader(db) });
    expect(again).toMatchObject({ status: 'done', computed: 0, done: 30 });
    expect(listSets(db).map((x) => x.id)).toContain(setId);

    const train = loadSetMatrix(db, setId, 'train');
    const test = loadSetMatrix(db, setId, 'test');
    expect([train.X.rows, test.X.rows]).toEqual([24, 6]);
    expect(train.X.cols).toBe(8);
    const labels = db.prepare(`SELECT id, label FROM samples WHERE split = 'test' ORDER BY id`).all() as { id: number; label: number }[];
    expect(Array.from(test.sampleIds)).toEqual(labels.map((l) => l.id));
    expect(Array.from(test.y)).toEqual(labels.map((l) => l.label));
    const v = vectors(db, setId);
    expect(Array.from(test.X.data.subarray(0, 8))).toEqual(Array.from(v.get(labels[0]!.id)!));

    deleteSet(db, setId);
    expect(() => getSet(db, setId)).toThrow(LabError);
    expect(db.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE set_id = ?').get(setId)).toEqual({ n: 0 });
    db.close();
  });

  it('chooses a batch size automatically from the timed trial sizes', async () => {
    const { db, setId } = await setup(200);
    const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', loadImage: pixelLoader(db) });
    expect(s.status).toBe('done');
    // On cpu the trial sizes are 4 (warm-up, then timed), 1, 2, 8 and 16.
    expect([1, 2, 4, 8, 16]).toContain(s.batchSize);
    expect(getSet(db, setId).batchSize).toBe(s.batchSize);
    expect(getSet(db, setId).done).toBe(200);
    db.close();
  });

  it('cancel leaves a partial set that a rerun completes with the same vectors as a clean run', async () => {
    const clean = await setup(40);
    await runEmbeddingSet(clean.db, clean.setId, { modelsDir, provider: 'cpu', batchSize: 4, loadImage: pixelLoader(clean.db) });
    const ref = vectors(clean.db, clean.setId);

    const { db, setId } = await setup(40);
    const ac = new AbortController();
    const err = await runEmbeddingSet(db, setId, {
      modelsDir,
      provider: 'cpu',
      batchSize: 4,
      signal: ac.signal,
      loadImage: pixelLoader(db),
      onProgress: (p) => {
        if (p.done >= 12) ac.abort();
      },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('cancelled');
    expect((err as LabError).message).toMatch(/run the set again to resume/);
    const partial = getSet(db, setId);
    expect(partial.status).toBe('partial');
    expect(partial.done).toBeGreaterThanOrEqual(12);
    expect(partial.done).toBeLessThan(40);
    const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 4, loadImage: pixelLoader(db) });
    expect(s).toMatchObject({ status: 'done', done: 40, computed: 40 - partial.done });
    const got = vectors(db, setId);
    expect(got.size).toBe(40);
    for (const [id, v] of ref) expect(Array.from(got.get(id)!), `sample ${id}`).toEqual(Array.from(v));
    clean.db.close();
    db.close();
  });

  it('a NaN from the model fails the set with a clear message', async () => {
    const { db, datasetId } = await setup(6);
    // nanModel fails inspection (NaN on its dummy run), so register it directly, as if it had passed.
    const mf = path.join(dir, 'nan.onnx');
    fs.writeFileSync(mf, nanModel(8));
    const b = db
      .prepare(
        `INSERT INTO backbones (name, kind, file, input_name, output_name, output_kind, dim, precision, image_size, created_at)
         VALUES ('nan', 'onnx', ?, 'pixel_values', 'pooler_output', 'pooler', 3, 'float32', 8, 'now')`,
      )
      .run(mf);
    const setId = createEmbeddingSet(db, { datasetId, backboneId: Number(b.lastInsertRowid), preset: 'resize-224' });
    const err = (await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', loadImage: pixelLoader(db) }).catch((e: unknown) => e)) as LabError;
    expect(err).toMatchObject({ code: 'job_failed' });
    expect(err.message).toMatch(/NaN or Inf for sample \d+/);
    expect(getSet(db, setId)).toMatchObject({ status: 'failed', done: 0 });
    expect(getSet(db, setId).error).toMatch(/NaN/);
    db.close();
  });

  it('an image that cannot be loaded fails the set and names the sample', async () => {
    const { db, setId } = await setup(6);
    const err = await runEmbeddingSet(db, setId, {
      modelsDir,
      provider: 'cpu',
      loadImage: async (id) => {
        throw new LabError('bad_image', `image ${id} is truncated`);
      },
    }).catch((e: unknown) => e as LabError);
    expect(err).toMatchObject({ code: 'bad_image' });
    expect(getSet(db, setId)).toMatchObject({ status: 'failed' });
    expect(getSet(db, setId).error).toMatch(/Sample \d+: image \d+ is truncated/);
    db.close();
  });

  it('raw-pixels stores the 32x32 image scaled to [0, 1]', async () => {
    const { db, setId } = await setup(10, 'raw-pixels');
    const s = await runEmbeddingSet(db, setId, { modelsDir, loadImage: pixelLoader(db) });
    expect(s).toMatchObject({ status: 'done', done: 10, provider: 'js' });
    const first = db.prepare('SELECT id, pixels FROM samples ORDER BY id LIMIT 1').get() as { id: number; pixels: Buffer };
    const v = vectors(db, setId).get(first.id)!;
    expect(v.length).toBe(3072);
    for (let i = 0; i < 3072; i += 97) expect(v[i]).toBeCloseTo(first.pixels[i]! / 255, 6);
    db.close();
  });

  it('survives SIGKILL mid-run: the rerun leaves exactly one vector per sample, equal to a clean run', async () => {
    const n = 240;
    const clean = await setup(n);
    await runEmbeddingSet(clean.db, clean.setId, { modelsDir, provider: 'cpu', batchSize: 4, loadImage: pixelLoader(clean.db) });
    const ref = vectors(clean.db, clean.setId);
    clean.db.close();

    const { db, file, setId } = await setup(n);
    db.close();
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src/core/embeddings/testing/embed-child.ts'), file, String(setId), modelsDir, '4', '3'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killedAt = await new Promise<number>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const m = [...buf.matchAll(/progress (\d+)/g)].pop();
        if (m && Number(m[1]) >= 60) {
          child.kill('SIGKILL');
          resolve(Number(m[1]));
        }
      });
      child.on('exit', (code, sig) => {
        if (sig !== 'SIGKILL') reject(new Error(`child exited early (code ${code}): ${buf}\n${stderr}`));
      });
    });
    await new Promise((r) => child.once('close', r));
    expect(killedAt).toBeLessThan(n);

    const db2 = openDatabase(file);
    const before = db2.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE set_id = ?').get(setId) as { n: number };
    expect(before.n).toBeGreaterThanOrEqual(killedAt);
    expect(before.n).toBeLessThan(n);
    expect(getSet(db2, setId).status).toBe('running'); // what a killed job leaves behind
    const s = await runEmbeddingSet(db2, setId, { modelsDir, provider: 'cpu', batchSize: 4, loadImage: pixelLoader(db2) });
    expect(s).toMatchObject({ status: 'done', done: n, computed: n - before.n });
    const dup = db2.prepare('SELECT sample_id, COUNT(*) AS c FROM embeddings WHERE set_id = ? GROUP BY sample_id HAVING c > 1').all(setId);
    expect(dup).toEqual([]);
    const got = vectors(db2, setId);
    expect(got.size).toBe(n);
    // Sample ids match between the two databases: both were filled the same way.
    for (const [id, v] of ref) expect(Array.from(got.get(id)!), `sample ${id}`).toEqual(Array.from(v));
    db2.close();
  });
});
