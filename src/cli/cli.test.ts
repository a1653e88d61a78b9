import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import os from 'node:os';
import { projectRoot, tempDir } from '../../tests/helpers';
import { openDatabase } from '../core/db/database';
import { insertBlobEmbeddingSet, insertSiblingSet } from '../core/runs/test-helpers';

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

  it('compare --dataset prints the study matrix; runs show gives provenance and a train line that reproduces the metrics exactly', () => {
    const db = path.join(t.dir, 'study.db');
    const conn = openDatabase(db);
    const { setId: a } = insertBlobEmbeddingSet(conn, { numClasses: 3, dim: 8, trainPerClass: 40, testPerClass: 20, separation: 0.8, seed: 4, name: 'Blobs' });
    const b = insertSiblingSet(conn, a, { name: 'noisy', noise: 2 });
    conn.close();
    const cli = (...args: string[]): string => execFileSync(process.execPath, [bin, '--db', db, ...args], { encoding: 'utf8' });
    for (const set of [a, b]) {
      cli('train', '--set', String(set), '--model', 'knn', '--json');
      cli('train', '--set', String(set), '--model', 'mlp', '--param', 'epochs=3', '--seed', '5', '--json');
    }
    const st = JSON.parse(cli('compare', '--dataset', 'Blobs', '--json'));
    expect(st.columns.map((c: { set_id: number }) => c.set_id)).toEqual([a, b]);
    expect(st.rows.map((r: { kind: string }) => r.kind)).toEqual(['mlp', 'knn']);
    expect(st.runs).toHaveLength(4);
    expect(new Set(st.runs.map((r: { set_id: number }) => r.set_id))).toEqual(new Set([a, b]));
    for (const r of st.runs) {
      expect(r.provenance).toMatchObject({ dataset: { name: 'Blobs', fingerprint: 'fp-Blobs' }, kind: r.kind, seed: r.seed, snapshot: true });
      expect(r.provenance.backbone.name).toBe(r.set_id === a ? 'test-raw' : 'noisy');
      expect(r.provenance.backend).toBeTruthy();
      expect(r.provenance.app_version).toMatch(/^\d+\.\d+\.\d+/);
      expect(r.metrics.test.accuracy).toBeGreaterThan(0);
      expect(r.metrics.train.accuracy).toBeGreaterThan(0);
    }
    expect(st.runs.find((r: { kind: string }) => r.kind === 'mlp').metrics.validation.accuracy).toBeGreaterThan(0);
    // The text matrix: a header line, the set columns, a row per kind with value [lo, hi].
    const text = cli('compare', '--dataset', 'Blobs', '--metric', 'f1_weighted');
    expect(text).toMatch(/f1_weighted on test/);
    expect(text).toMatch(/test-raw · resize-224/);
    expect(text).toMatch(/^knn\s+\d+\.\d \[\d+\.\d, \d+\.\d\]/m);
    expect(spawnSync(process.execPath, [bin, '--db', db, 'compare', '--dataset', 'Blobs', '--metric', 'auc'], { encoding: 'utf8' }).stderr).toMatch(/--metric must be one of accuracy/);

    // The mlp run's reproduce line, run as it is printed, gives the same test accuracy and weighted F1.
    const mlp = st.runs.find((r: { kind: string; set_id: number }) => r.kind === 'mlp' && r.set_id === b);
    const shown = JSON.parse(cli('runs', 'show', String(mlp.id), '--json'));
    expect(shown.command).toBe(mlp.provenance.command);
    expect(shown.command).toMatch(/^dinolab train --set \d+ --model mlp .*--seed 5$/);
    expect(shown.provenance.params.epochs).toBe(3);
    const again = JSON.parse(
      execFileSync('bash', ['-c', `${shown.command.replace(/^dinolab /, `"${process.execPath}" "${bin}" --db "${db}" `)} --json`], { encoding: 'utf8' }),
    );
    expect(again.runId).not.toBe(mlp.id);
    expect(again.test.accuracy).toBe(shown.metrics.test.accuracy);
    expect(again.test.f1_weighted).toBe(shown.metrics.test.f1_weighted);
    const second = JSON.parse(cli('runs', 'show', String(again.runId), '--json'));
    expect(second.provenance.params).toEqual(shown.provenance.params);
    expect(second.provenance.backend).toBe(shown.provenance.backend);

    // Names and notes are kept and shown.
    cli('runs', 'rename', String(mlp.id), 'baseline', 'mlp');
    cli('runs', 'notes', String(mlp.id), 'three epochs only');
    const named = JSON.parse(cli('runs', 'show', String(mlp.id), '--json'));
    expect(named.run).toMatchObject({ name: 'baseline mlp', notes: 'three epochs only' });
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
