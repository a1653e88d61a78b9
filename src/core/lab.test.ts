import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers';
import { migrations } from './db/migrations';
import { Lab } from './lab';

const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) c();
});

async function newLab(): Promise<{ lab: Lab; dir: string }> {
  const t = tempDir();
  const lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
  cleanups.push(t.cleanup);
  cleanups.unshift(() => void lab.close());
  return { lab, dir: t.dir };
}

describe('Lab engine', () => {
  it('creates the database with WAL and every migration applied', async () => {
    const { lab } = await newLab();
    expect(lab.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(lab.db.pragma('user_version', { simple: true })).toBe(migrations.at(-1)!.version);
    const tables = (lab.db.prepare(`SELECT name FROM sqlite_master WHERE type='table'`).all() as { name: string }[]).map((r) => r.name);
    for (const t of ['datasets', 'samples', 'backbones', 'embedding_sets', 'embeddings', 'runs', 'epochs', 'metrics', 'predictions', 'artifacts', 'probes', 'jobs']) {
      expect(tables).toContain(t);
    }
  });

  it('reports the real facts in info', async () => {
    const { lab } = await newLab();
    const info = await lab.call('info', {});
    expect(info.sqliteVersion).toBe((new Database(':memory:').prepare('select sqlite_version() v').get() as { v: string }).v);
    expect(info.executionProviders).toEqual(expect.arrayContaining(['cpu', 'webgpu']));
    expect(info.dbPath).toBe(lab.dbPath);
    expect(info.nodeVersion).toBe(process.versions.node);
  });

  it('turns invalid input into a readable invalid_input envelope, never a stack trace', async () => {
    const { lab } = await newLab();
    const r1 = await lab.dispatch('selftest.start', { steps: 'ten' });
    expect(r1).toEqual({ ok: false, error: { code: 'invalid_input', message: expect.stringContaining('steps: Invalid input: expected number') } });
    const r2 = await lab.dispatch('selftest.start', { steps: 5000 });
    expect(r2.ok).toBe(false);
    if (!r2.ok) expect(r2.error.message).toMatch(/steps: Too big/);
    const r3 = await lab.dispatch('no.such.call', {});
    expect(r3).toEqual({ ok: false, error: { code: 'not_found', message: 'Unknown call "no.such.call".' } });
    const r4 = await lab.dispatch('jobs.get', { id: 'nope' });
    expect(r4).toEqual({ ok: false, error: { code: 'not_found', message: 'No job nope.' } });
  });

  it('refuses a corrupt database file with a clear message', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = path.join(t.dir, 'bad.db');
    fs.writeFileSync(file, Buffer.alloc(8192, 7));
    expect(() => new Lab({ host: 'cli', dbPath: file, dataDir: t.dir })).toThrow(/not a usable DINO Lab database/);
  });
});

describe('jobs in a separate process', () => {
  it('runs the selftest job with progress events and finishes', async () => {
    const { lab } = await newLab();
    const events: string[] = [];
    lab.subscribe((ev) => events.push(`${ev.name}:${ev.name === 'job.progress' ? ev.payload.done : ''}`));
    const job = await lab.call('selftest.start', { steps: 4, stepMs: 20 });
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('done');
    expect(end.done).toBe(4);
    expect(end.result).toEqual({ steps: 4 });
    expect(events).toContain('job.progress:4');
    expect(events).toContain('job.finished:');
  });

  it('cancels a running job', async () => {
    const { lab } = await newLab();
    const job = await lab.call('selftest.start', { steps: 100, stepMs: 100 });
    await new Promise<void>((resolve) => {
      const off = lab.subscribe((ev) => {
        if (ev.name === 'job.progress' && ev.payload.jobId === job.id) {
          off();
          resolve();
        }
      });
    });
    await lab.call('jobs.cancel', { id: job.id });
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('cancelled');
    expect(end.done).toBeLessThan(100);
  });

  it('marks a job whose process is killed as interrupted, with the reason', async () => {
    const { lab } = await newLab();
    const job = await lab.call('selftest.start', { steps: 100, stepMs: 100 });
    while (!lab.jobs.pidOf(job.id)) await new Promise((r) => setTimeout(r, 20));
    process.kill(lab.jobs.pidOf(job.id)!, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('interrupted');
    expect(end.error).toMatch(/signal SIGKILL/);
  });

  it('reports a job that throws as failed with its message', async () => {
    const { lab } = await newLab();
    const job = await lab.call('selftest.start', { steps: 5, stepMs: 1, failAt: 2 });
    const end = await lab.jobs.wait(job.id);
    expect(end.status).toBe('failed');
    expect(end.error).toBe('Self-test failed on purpose at step 2.');
  });

  it('a second engine on the same file (the CLI while the app runs) leaves the live host\'s jobs alone', async () => {
    const { lab, dir } = await newLab();
    const job = await lab.call('selftest.start', { steps: 100, stepMs: 50 });
    while (!lab.jobs.pidOf(job.id)) await new Promise((r) => setTimeout(r, 20));
    const other = new Lab({ host: 'cli', dbPath: lab.dbPath, dataDir: dir });
    const seen = other.jobs.get(job.id);
    await other.close();
    expect(seen.status).toBe('running');
    expect(lab.jobs.get(job.id).status).toBe('running');
    lab.jobs.cancel(job.id);
    expect((await lab.jobs.wait(job.id)).status).toBe('cancelled');
  });

  it('marks jobs left running by a dead host as interrupted on the next start', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dbPath = path.join(t.dir, 'lab.db');
    const lab1 = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    lab1.db.prepare(`INSERT INTO jobs (id, kind, params, status, created_at, pid) VALUES ('j1', 'selftest', '{"steps":3}', 'running', '2026-01-01', 999999)`).run();
    lab1.db.close();
    const lab2 = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    cleanups.unshift(() => void lab2.close());
    const j = lab2.jobs.get('j1');
    expect(j.status).toBe('interrupted');
    expect(j.error).toMatch(/stopped while this job ran/);
  });
});
