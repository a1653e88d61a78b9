/**
 * Uploads (issue 12): a per-upload and a total limit with clear errors that leave nothing behind, names
 * that sanitise to '.' or '..', removal once the import that uses them ends, and the start-up sweep.
 * A real Lab on a real database; imports run as real jobs in their child process.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers';
import { generateCifar10Archive } from './datasets/testing/cifar-archive';
import { Lab } from './lab';
import type { LabError } from './errors';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function newLab(limits?: ConstructorParameters<typeof Lab>[0]['uploadLimits']): { lab: Lab; dir: string } {
  const t = tempDir('dinolab-uploads-');
  const lab = new Lab({ host: 'web', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir, uploadLimits: limits });
  cleanups.push(t.cleanup, () => lab.close());
  return { lab, dir: t.dir };
}

/** Every entry (files and folders) under `dir`, relative. */
function entries(dir: string): string[] {
  return fs.existsSync(dir) ? (fs.readdirSync(dir, { recursive: true }) as string[]).sort() : [];
}

async function finished(lab: Lab, id: string): Promise<string> {
  for (let i = 0; i < 600; i++) {
    const j = await lab.call('jobs.get', { id });
    if (!['queued', 'running'].includes(j.status)) return j.status;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('job did not end');
}

const b64 = (n: number, fill = 0x41): string => Buffer.alloc(n, fill).toString('base64');

describe('uploads.put', () => {
  it('refuses an upload over the per-upload limit with a clear error and stores nothing', async () => {
    const { lab, dir } = newLab({ perUploadBytes: 1000 });
    const err = (await lab.call('uploads.put', { name: 'big.tar.gz', dataBase64: b64(1500) }).catch((e: unknown) => e)) as LabError;
    expect(err.code).toBe('invalid_input');
    expect(err.message).toMatch(/^big\.tar\.gz is 0\.0 MB; an upload is limited to 0\.0 MB\. Give its path instead\.$/);
    expect(entries(path.join(dir, 'uploads'))).toEqual([]);
    expect((await lab.call('uploads.put', { name: 'ok.bin', dataBase64: b64(1000) })).bytes).toBe(1000);
  });

  it('refuses an upload that would pass the total limit of waiting uploads', async () => {
    const { lab, dir } = newLab({ totalBytes: 2500 });
    await lab.call('uploads.put', { name: 'a', dataBase64: b64(1200) });
    await lab.call('uploads.put', { name: 'b', dataBase64: b64(1200) });
    const err = (await lab.call('uploads.put', { name: 'c', dataBase64: b64(200) }).catch((e: unknown) => e)) as LabError;
    expect(err.code).toBe('conflict');
    expect(err.message).toMatch(/^Uploads waiting to be used take 0\.0 MB; with c \(0\.0 MB\) they would pass the 0\.0 MB allowed/);
    expect(entries(path.join(dir, 'uploads')).filter((e) => e.includes(path.sep))).toHaveLength(2);
  });

  it('stores a name that sanitises to "." or ".." as a file named "upload", leaving no empty folder', async () => {
    const { lab, dir } = newLab();
    for (const name of ['..', '.', '...', 'x/..', '../..', '/']) {
      const put = await lab.call('uploads.put', { name, dataBase64: b64(10) });
      expect(path.basename(put.path), name).toBe('upload');
      expect(fs.readFileSync(put.path).length, name).toBe(10);
      expect(path.dirname(path.dirname(put.path))).toBe(path.join(dir, 'uploads'));
    }
    const folders = fs.readdirSync(path.join(dir, 'uploads'));
    for (const f of folders) expect(fs.readdirSync(path.join(dir, 'uploads', f)), f).toEqual(['upload']);
  });

  it('removes an uploaded archive once its import ends, whether it succeeded or failed', async () => {
    const { lab, dir } = newLab();
    const good = await lab.call('uploads.put', { name: 'cifar-10-python.tar.gz', dataBase64: generateCifar10Archive(4).archive.toString('base64') });
    const bad = await lab.call('uploads.put', { name: 'broken.tar.gz', dataBase64: b64(5000, 0x1f) });
    expect(entries(path.join(dir, 'uploads')).filter((e) => e.includes(path.sep))).toHaveLength(2);
    const j1 = await lab.call('datasets.import', { source: { type: 'cifar', path: good.path } });
    expect(await finished(lab, j1.id)).toBe('done');
    const j2 = await lab.call('datasets.import', { source: { type: 'cifar', path: bad.path }, name: 'broken' });
    expect(await finished(lab, j2.id)).toBe('failed');
    expect(entries(path.join(dir, 'uploads'))).toEqual([]);
    expect((await lab.call('datasets.list', {})).map((d) => d.counts)).toEqual([{ train: 20, test: 4 }]);
  });

  it('removes uploads older than a day when a Lab starts, and keeps recent ones', async () => {
    const { lab, dir } = newLab();
    const old = await lab.call('uploads.put', { name: 'old.tar.gz', dataBase64: b64(10) });
    const recent = await lab.call('uploads.put', { name: 'recent.tar.gz', dataBase64: b64(10) });
    const probeDir = path.join(dir, 'probes', 'left-over');
    fs.mkdirSync(probeDir, { recursive: true });
    const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
    fs.utimesSync(path.dirname(old.path), twoDaysAgo, twoDaysAgo);
    fs.utimesSync(probeDir, twoDaysAgo, twoDaysAgo);
    await lab.close();
    const again = new Lab({ host: 'web', dbPath: path.join(dir, 'lab.db'), dataDir: dir });
    cleanups.push(() => again.close());
    expect(fs.existsSync(path.dirname(old.path))).toBe(false);
    expect(fs.existsSync(probeDir)).toBe(false);
    expect(fs.existsSync(recent.path)).toBe(true);
  });
});
