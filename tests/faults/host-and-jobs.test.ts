import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { projectRoot, tempDir } from '../helpers';
import { record } from './record';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

function integrity(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true });
  const r = (db.pragma('integrity_check') as { integrity_check: string }[])[0]!.integrity_check;
  db.close();
  return r;
}

describe('kills', () => {
  it('job process SIGKILLed mid-job', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dbPath = path.join(t.dir, 'lab.db');
    const lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    const job = await lab.call('selftest.start', { steps: 50, stepMs: 50 });
    while (!lab.jobs.pidOf(job.id)) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 300));
    process.kill(lab.jobs.pidOf(job.id)!, 'SIGKILL');
    const end = await lab.jobs.wait(job.id);
    await lab.close();
    expect(end.status).toBe('interrupted');
    expect(end.error).toMatch(/signal SIGKILL.*start it again/);
    expect(integrity(dbPath)).toBe('ok');
    record({ fault: 'SIGKILL of the job process during a self-test job', outcome: `job ${end.status}: ${end.error}`, checked: 'integrity_check ok; job row final' });
  });

  it('host (web server) SIGKILLed while a job runs, then restarted', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const dbPath = path.join(t.dir, 'lab.db');
    const cli = path.join(projectRoot, 'bin', 'dinolab.js');
    const host = spawn(process.execPath, [cli, '--db', dbPath, 'serve', '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DINOLAB_DATA_DIR: t.dir } });
    const url = await new Promise<string>((resolve) => {
      let buf = '';
      host.stdout!.on('data', (c: Buffer) => {
        buf += c.toString();
        const line = buf.split('\n').find((l) => l.startsWith('{'));
        if (line) resolve(JSON.parse(line).url);
      });
    });
    const u = new URL(url);
    const token = u.searchParams.get('token')!;
    const res = await fetch(`${u.origin}/api/selftest.start`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: '{"steps":100,"stepMs":50}' });
    const body = (await res.json()) as { result: { id: string } };
    await new Promise((r) => setTimeout(r, 800));
    host.kill('SIGKILL');
    await new Promise((r) => host.once('exit', r));
    // The orphaned job process notices its parent is gone and exits on its own.
    await new Promise((r) => setTimeout(r, 2500));
    const lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
    const job = lab.jobs.get(body.result.id);
    await lab.close();
    expect(job.status).toBe('interrupted');
    expect(job.error).toMatch(/stopped while this job ran/);
    expect(integrity(dbPath)).toBe('ok');
    record({ fault: 'SIGKILL of the web host during a job; host restarted', outcome: `job ${job.status}: ${job.error}`, checked: 'integrity_check ok; job marked interrupted at restart' });
  });
});

describe('storage', () => {
  it('database file that is not a database', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = path.join(t.dir, 'bad.db');
    fs.writeFileSync(file, 'this is not sqlite'.repeat(500));
    const before = fs.readFileSync(file);
    expect(() => new Lab({ host: 'cli', dbPath: file, dataDir: t.dir })).toThrow(/not a usable DINO Lab database/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
    record({ fault: 'random bytes as the database file', outcome: 'refused: "not a usable DINO Lab database"', checked: 'file left untouched' });
  });

  it('database written by a newer DINO Lab', () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const file = path.join(t.dir, 'new.db');
    const db = new Database(file);
    db.pragma('user_version = 999');
    db.close();
    expect(() => new Lab({ host: 'cli', dbPath: file, dataDir: t.dir })).toThrow(/newer DINO Lab \(schema 999/);
    record({ fault: 'database with a newer schema version', outcome: 'refused with "written by a newer DINO Lab"', checked: 'no migration applied' });
  });
});

describe('API arguments', () => {
  it('out-of-range and wrongly typed arguments', async () => {
    const t = tempDir();
    cleanups.push(t.cleanup);
    const lab = new Lab({ host: 'cli', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
    const cases: [string, unknown, RegExp][] = [
      ['selftest.start', { steps: -1 }, /steps: Too small/],
      ['selftest.start', { steps: 1.5 }, /steps: Invalid input: expected int/],
      ['selftest.start', { steps: 2, extra: true }, /Unrecognized key: "extra"/],
      ['jobs.list', { limit: 'all' }, /limit: Invalid input: expected number/],
      ['jobs.cancel', {}, /id: Invalid input: expected string/],
    ];
    for (const [name, input, msg] of cases) {
      const r = await lab.dispatch(name, input);
      expect(r.ok).toBe(false);
      if (!r.ok) {
        expect(r.error.code).toBe('invalid_input');
        expect(r.error.message).toMatch(msg);
      }
    }
    const jobs = lab.jobs.list();
    await lab.close();
    expect(jobs).toHaveLength(0);
    record({ fault: `${cases.length} calls with out-of-range / wrong-type / unknown arguments`, outcome: 'invalid_input with field-level messages', checked: 'no job created' });
  });
});
