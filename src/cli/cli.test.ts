import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import { projectRoot, tempDir } from '../../tests/helpers';
import { openDatabase } from '../core/db/database';
import { insertBlobEmbeddingSet } from '../core/runs/test-helpers';

const t = tempDir();
afterAll(() => t.cleanup());
const bin = path.join(projectRoot, 'bin/dinolab.js');

describe('dinolab CLI', () => {
  it('--db PATH creates that database and info --json prints the facts', () => {
    const db = path.join(t.dir, 'sub', 'x.db');
    const out = execFileSync(process.execPath, [bin, '--db', db, 'info', '--json'], { encoding: 'utf8' });
    expect(fs.existsSync(db)).toBe(true);
    const info = JSON.parse(out);
    expect(info.dbPath).toBe(db);
    expect(info.executionProviders).toEqual(expect.arrayContaining(['cpu', 'webgpu']));
    expect(info.sqliteVersion).toMatch(/^3\.\d+\.\d+$/);
  });

  it('DINOLAB_DB is honoured and info prints a table for people', () => {
    const db = path.join(t.dir, 'env.db');
    const out = execFileSync(process.execPath, [bin, 'info'], { encoding: 'utf8', env: { ...process.env, DINOLAB_DB: db } });
    expect(out).toMatch(new RegExp(`dbPath\\s+${db.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(fs.existsSync(db)).toBe(true);
  });

  it('runs a job from the command line and lists it', () => {
    const db = path.join(t.dir, 'jobs.db');
    const r = spawnSync(process.execPath, [bin, '--db', db, 'selftest', '--steps', '3', '--json'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).status).toBe('done');
    const list = JSON.parse(execFileSync(process.execPath, [bin, '--db', db, 'jobs', '--json'], { encoding: 'utf8' }));
    expect(list[0]).toMatchObject({ kind: 'selftest', status: 'done', done: 3, total: 3 });
  });

  it('trains an SVC from the command line, with the second solver thread in the built app', () => {
    // Three classes of 3,000 rows: large enough for the parallel path (SVC_TUNING.parallelMinEntries).
    const db = path.join(t.dir, 'svc.db');
    const conn = openDatabase(db);
    const { setId } = insertBlobEmbeddingSet(conn, { numClasses: 3, dim: 32, trainPerClass: 3000, testPerClass: 50, separation: 1 });
    conn.close();
    const r = spawnSync(process.execPath, [bin, '--db', db, 'train', '--set', String(setId), '--model', 'svc', '--param', 'probability=false', '--json'], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.test.accuracy).toBeGreaterThan(0.9);
    // The worker thread must start from the bundle too (it is its own electron-vite entry).
    expect(out.backend).toBe(os.availableParallelism() > 1 ? 'js, 2 solver threads' : 'js');
  });

  it('train --max-rows caps the training rows (a seeded subsample) and says so; a bad cap is refused', () => {
    const db = path.join(t.dir, 'cap.db');
    const conn = openDatabase(db);
    const { setId } = insertBlobEmbeddingSet(conn, { numClasses: 3, dim: 8, trainPerClass: 40, testPerClass: 10, separation: 1 });
    conn.close();
    const r = spawnSync(process.execPath, [bin, '--db', db, 'train', '--set', String(setId), '--model', 'knn', '--max-rows', '50', '--json'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ trainRows: 50, trainMetricRows: 50, testRows: 30 });
    const runs = JSON.parse(execFileSync(process.execPath, [bin, '--db', db, 'runs', '--json'], { encoding: 'utf8' }));
    expect(runs[0]).toMatchObject({ max_train_rows: 50, train_metric_rows: 50 });
    const bad = spawnSync(process.execPath, [bin, '--db', db, 'train', '--set', String(setId), '--model', 'knn', '--max-rows', '1'], { encoding: 'utf8' });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/maxRows/);
  });

  it('explains bad arguments and unknown commands', () => {
    const r = spawnSync(process.execPath, [bin, 'frobnicate'], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/Unknown command "frobnicate"/);
    const p = spawnSync(process.execPath, [bin, '--db', path.join(t.dir, 'p.db'), 'selftest', '--steps', 'abc'], { encoding: 'utf8' });
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/invalid_input.*steps: Invalid input: expected number/);
  });
});
