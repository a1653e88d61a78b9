/** `dinolab sweep` end to end: one job on a real database, its runs grouped under the sweep, mean ± std per kind and size. */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../../tests/helpers';
import { openDatabase } from '../core/db/database';
import { insertBlobEmbeddingSet } from '../core/runs/test-helpers';

const t = tempDir('dinolab-sweep-cli-');
afterAll(() => t.cleanup());
const bin = path.join(projectRoot, 'bin/dinolab.js');
const cli = (db: string, args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [bin, '--db', db, ...args], { encoding: 'utf8', timeout: 180_000 });

describe('dinolab sweep', () => {
  it('runs a per-class sweep as one job and prints mean ± std; sweeps lists it; bad input is refused', () => {
    const db = path.join(t.dir, 'sweep.db');
    const conn = openDatabase(db);
    const { setId } = insertBlobEmbeddingSet(conn, { numClasses: 3, dim: 8, trainPerClass: 20, testPerClass: 10, separation: 1, seed: 2, name: 'Blobs' });
    conn.close();
    const r = cli(db, ['sweep', '--set', String(setId), '--models', 'logreg,knn', '--per-class', '2,20', '--repeats', '2', '--seed', '4', '--json']);
    expect(r.status, r.stderr).toBe(0);
    const sw = JSON.parse(r.stdout);
    expect(sw).toMatchObject({ setId, status: 'done', done: 8, total: 8, mode: 'per_class', sizes: [2, 20], repeats: 2, seed: 4 });
    expect(sw.points).toHaveLength(4);
    for (const p of sw.points) expect(p).toMatchObject({ runs: 2, perClass: p.sizeIndex === 0 ? 2 : 20 });
    const text = cli(db, ['sweeps', '--set', String(setId)]);
    expect(text.stdout).toMatch(/Sweep 1 on set \d+ .*done, 8\/8 runs/);
    expect(text.stdout).toMatch(/Note: Label sweep 1: k clamped from 20 to the subset's 6 images/);
    const jobs = JSON.parse(cli(db, ['jobs', '--json']).stdout) as { kind: string; status: string; total: number }[];
    expect(jobs.filter((j) => j.kind === 'sweep')).toEqual([expect.objectContaining({ status: 'done', total: 8 })]);
    // Label-sweep runs stay out of the study unless asked (issue 13's Compare).
    expect(cli(db, ['compare', '--dataset', 'Blobs']).stdout).toMatch(/8 label-sweep runs hidden/);
    expect(cli(db, ['sweep', '--set', String(setId), '--fractions', '0.5', '--per-class', '2']).stderr).toMatch(/not both/);
    expect(cli(db, ['sweep', '--set', String(setId), '--fractions', '1.5']).stderr).toMatch(/fractions/);
    expect(cli(db, ['sweep', '--resume', '1']).stderr).toMatch(/Sweep 1 is done/);
  }, 240_000);
});
