/**
 * Full disk (issue 7): a size-limited database (PRAGMA max_page_count on the connection that writes)
 * and a real 2 MB tmpfs. Every case checks the specific code and message, that nothing was half-written,
 * integrity_check, and that the work can be done once space is back.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../src/core/db/database';
import { LabError } from '../../src/core/errors';
import { ensureBuiltinBackbones, listBackbones } from '../../src/core/backbones/registry';
import { importDataset } from '../../src/core/datasets/import';
import { loadSampleRGB } from '../../src/core/datasets/queries';
import { createEmbeddingSet, runEmbeddingSet } from '../../src/core/embeddings/pipeline';
import { Lab } from '../../src/core/lab';
import { skipWithReason, tempDir } from '../helpers';
import { record } from './record';
import { counts, integrity } from './util';

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function openLimited(): { dir: string; file: string; db: Db; limit: (extraPages: number) => void } {
  const t = tempDir('dinolab-full-');
  const file = path.join(t.dir, 'lab.db');
  const db = openDatabase(file);
  cleanups.push(t.cleanup, () => void db.close());
  return {
    dir: t.dir,
    file,
    db,
    limit: (extra) => {
      const pages = db.pragma('page_count', { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + extra}`);
    },
  };
}

const rowCounts = (db: Db): Record<string, number> =>
  Object.fromEntries(['datasets', 'samples', 'embeddings'].map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));

describe('size-limited database (max_page_count)', () => {
  it('import of Shapes-10 into a full database: disk_full, rolled back, imports once there is room', async () => {
    const { db, limit } = openLimited();
    const before = rowCounts(db);
    limit(20); // 20 pages of 16 KiB; 600 samples of 3 KB need ~120
    const err = await importDataset(db, { type: 'sample', name: 'shapes10', train: 500, test: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('disk_full');
    expect((err as LabError).message).toBe(
      "The disk (or the database size limit) is full: importing 'Shapes-10' (600 images) was rolled back, nothing was kept. Free some space and import again.",
    );
    expect(rowCounts(db)).toEqual(before);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    limit(10_000);
    const ok = await importDataset(db, { type: 'sample', name: 'shapes10', train: 500, test: 100 });
    expect(ok.counts).toEqual({ train: 500, test: 100 });
    record({
      fault: 'importDataset (Shapes-10, 600 images) on a connection with max_page_count = used + 20 pages',
      outcome: `disk_full: "${(err as LabError).message}"`,
      checked: 'datasets/samples counts unchanged; integrity_check ok; same import succeeds after raising the limit',
    });
  });

  it('embedding job into a full database: disk_full, whole batches kept, the set resumes to one vector per sample', async () => {
    const { dir, db, limit } = openLimited();
    await importDataset(db, { type: 'sample', name: 'shapes10', train: 250, test: 50 });
    ensureBuiltinBackbones(db, path.join(dir, 'models'));
    const raw = listBackbones(db).find((b) => b.name === 'raw-pixels')!;
    const datasetId = (db.prepare('SELECT id FROM datasets').get() as { id: number }).id;
    const setId = createEmbeddingSet(db, { datasetId, backboneId: raw.id, preset: 'resize-224' });
    const opts = { modelsDir: path.join(dir, 'models'), provider: 'cpu', batchSize: 32, loadImage: (id: number) => loadSampleRGB(db, id) };
    limit(60); // a raw-pixels vector is 12 KiB: room for some batches of 32, not 300 vectors
    const err = await runEmbeddingSet(db, setId, opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('disk_full');
    expect((err as LabError).message).toBe('The disk (or the database size limit) is full: free some space and try again.');
    const stored = (db.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE set_id = ?').get(setId) as { n: number }).n;
    const status = (db.prepare('SELECT status, error FROM embedding_sets WHERE id = ?').get(setId) as { status: string; error: string | null });
    expect(stored % 32).toBe(0); // only whole batches were committed
    expect(stored).toBeLessThan(300);
    expect(status.status).not.toBe('done');
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    limit(100_000);
    const s = await runEmbeddingSet(db, setId, opts);
    expect(s).toMatchObject({ status: 'done', done: 300, computed: 300 - stored });
    const c = db.prepare('SELECT COUNT(*) AS n, COUNT(DISTINCT sample_id) AS d FROM embeddings WHERE set_id = ?').get(setId) as { n: number; d: number };
    expect(c).toEqual({ n: 300, d: 300 });
    record({
      fault: 'runEmbeddingSet (raw-pixels, 300 samples, batch 32) with max_page_count = used + 60 pages',
      outcome: `disk_full: "${(err as LabError).message}"; ${stored} vectors (whole batches) kept, set '${status.status}'${status.error ? ` ("${status.error}")` : ''}`,
      checked: 'integrity_check ok; after raising the limit the same set resumed: COUNT(*) = COUNT(DISTINCT sample_id) = 300',
    });
  });
});

describe('real full disk (2 MB tmpfs)', () => {
  it('Lab on a 2 MB tmpfs: an import that does not fit fails with disk_full and leaves the database usable', async (ctx) => {
    const t = tempDir('dinolab-tmpfs-');
    cleanups.push(t.cleanup);
    const mnt = path.join(t.dir, 'mnt');
    fs.mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (e) {
      const why = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim();
      record({ fault: 'import onto a 2 MB tmpfs', outcome: `not run: mount failed (${why})`, checked: 'nothing (needs root and mount)' });
      skipWithReason(ctx, `mount of a tmpfs failed (needs root and mount): ${why}`);
    }
    cleanups.push(() => {
      try {
        execFileSync('umount', [mnt], { stdio: 'pipe' });
      } catch {
        execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
      }
    });
    const dbPath = path.join(mnt, 'lab.db');
    const lab = new Lab({ host: 'cli', dbPath, dataDir: mnt });
    let closed = false;
    cleanups.push(async () => {
      if (!closed) await lab.close();
    });
    // 2,000 images x 3 KB = 6 MB: three times the file system.
    const job = await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 1500, test: 500 } });
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('failed');
    expect(end.error).toBe(
      "The disk (or the database size limit) is full: importing 'Shapes-10' (2000 images) was rolled back, nothing was kept. Free some space and import again.",
    );
    expect(await lab.call('datasets.list', {})).toEqual([]);
    // The database keeps working on the full disk once the rollback freed its pages.
    const small = await lab.jobs.wait((await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 50, test: 10 } })).id);
    expect(small.status).toBe('done');
    await lab.close();
    closed = true;
    expect(integrity(dbPath)).toBe('ok');
    expect(counts(dbPath, ['datasets', 'samples'])).toEqual({ datasets: 1, samples: 60 });
    const used = execFileSync('df', ['-k', mnt], { encoding: 'utf8' }).trim().split('\n').pop();
    record({
      fault: 'Lab with its database on a 2 MB tmpfs; import of Shapes-10 with 2,000 images (~6 MB)',
      outcome: `job failed: "${end.error}"`,
      checked: `no dataset rows; a 60-image import then succeeds on the same disk; integrity_check ok (df: ${used?.replace(/\s+/g, ' ')})`,
    });
  });
});
