/**
 * Files go where the user put the database (issue 14): the data directory is --data-dir (DINOLAB_DATA_DIR)
 * when given, else the folder of the chosen database, else the shared default; deleting a dataset or a set
 * gives its disk space back.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { resolveWorkspace } from '../../src/core/paths';
import { tempDir } from '../helpers';

const t = tempDir();
const saved = { db: process.env.DINOLAB_DB, dir: process.env.DINOLAB_DATA_DIR, xdg: process.env.XDG_DATA_HOME };
beforeEach(() => {
  delete process.env.DINOLAB_DB;
  delete process.env.DINOLAB_DATA_DIR;
  process.env.XDG_DATA_HOME = path.join(t.dir, 'xdg');
});
afterEach(() => {
  for (const [k, v] of [['DINOLAB_DB', saved.db], ['DINOLAB_DATA_DIR', saved.dir], ['XDG_DATA_HOME', saved.xdg]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});
afterAll(() => t.cleanup());

describe('the workspace', () => {
  it('is the data dir given, else the folder of the chosen database, else the default', () => {
    const db = path.join(t.dir, 'ws', 'lab.db');
    expect(resolveWorkspace({ dbPath: db })).toEqual({ dataDir: path.join(t.dir, 'ws'), dbPath: db });
    expect(resolveWorkspace({ dbPath: db, dataDir: path.join(t.dir, 'other') })).toEqual({ dataDir: path.join(t.dir, 'other'), dbPath: db });
    process.env.DINOLAB_DB = db;
    expect(resolveWorkspace()).toEqual({ dataDir: path.join(t.dir, 'ws'), dbPath: db });
    process.env.DINOLAB_DATA_DIR = path.join(t.dir, 'env-dir');
    expect(resolveWorkspace().dataDir).toBe(path.join(t.dir, 'env-dir'));
    delete process.env.DINOLAB_DB;
    delete process.env.DINOLAB_DATA_DIR;
    if (process.platform === 'linux') expect(resolveWorkspace()).toEqual({ dataDir: path.join(t.dir, 'xdg', 'dino-lab'), dbPath: path.join(t.dir, 'xdg', 'dino-lab', 'dinolab.db') });
  });

  it('puts uploads beside a database chosen with --db, not in the default data directory', async () => {
    const db = path.join(t.dir, 'moved', 'lab.db');
    fs.mkdirSync(path.dirname(db), { recursive: true });
    const lab = new Lab({ host: 'cli', dbPath: db });
    try {
      expect(lab.dataDir).toBe(path.dirname(db));
      const put = await lab.call('uploads.put', { name: 'a.png', dataBase64: Buffer.from('x').toString('base64') });
      expect(put.path.startsWith(path.dirname(db) + path.sep)).toBe(true);
      expect(fs.existsSync(path.join(t.dir, 'xdg'))).toBe(false);
    } finally {
      await lab.close();
    }
  });

  it('gives the disk space of a deleted dataset back', async () => {
    const db = path.join(t.dir, 'space', 'lab.db');
    const lab = new Lab({ host: 'cli', dbPath: db });
    try {
      const job = await lab.call('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 2000, test: 500 } });
      expect((await lab.jobs.wait(job.id)).status).toBe('done');
      lab.db.pragma('wal_checkpoint(TRUNCATE)');
      const full = fs.statSync(db).size;
      const [ds] = await lab.call('datasets.list', {});
      await lab.call('datasets.delete', { id: ds!.id });
      const after = fs.statSync(db).size + (fs.existsSync(`${db}-wal`) ? fs.statSync(`${db}-wal`).size : 0);
      // 2,500 images of 3 KB are about 8 MB; what stays is the empty schema.
      expect(full).toBeGreaterThan(5_000_000);
      expect(after).toBeLessThan(full / 5);
    } finally {
      await lab.close();
    }
  }, 60_000);
});
