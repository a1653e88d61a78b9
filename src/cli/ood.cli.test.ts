/**
 * `dinolab ood` end to end on a real database file: the metrics it reports equal those recomputed from
 * its own --scores-out CSV (oodMetrics is checked against scikit-learn in ood-metrics.test.ts), and pairs
 * that cannot be compared are refused with the reason.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../../tests/helpers';
import { nowIso, openDatabase } from '../core/db/database';
import { oodMetrics } from '../core/ood/ood-metrics';
import { insertBlobEmbeddingSet, insertSiblingSet } from '../core/runs/test-helpers';

const t = tempDir('dinolab-ood-cli-');
afterAll(() => t.cleanup());
const bin = path.join(projectRoot, 'bin/dinolab.js');
const cli = (db: string, args: string[]): { status: number | null; stdout: string; stderr: string } =>
  spawnSync(process.execPath, [bin, '--db', db, ...args], { encoding: 'utf8', timeout: 120_000 });

describe('dinolab ood', () => {
  it('reports AUROC/AUPR/FPR@95 per score that equal the metrics recomputed from --scores-out', () => {
    const db = path.join(t.dir, 'ood.db');
    const conn = openDatabase(db);
    const { setId: s } = insertBlobEmbeddingSet(conn, { numClasses: 4, dim: 12, trainPerClass: 60, testPerClass: 25, separation: 1.2, seed: 3, name: 'In' });
    const { setId: o } = insertBlobEmbeddingSet(conn, { numClasses: 3, dim: 12, trainPerClass: 20, testPerClass: 30, separation: 1.2, seed: 9, name: 'Out' });
    conn.close();
    const train = cli(db, ['train', '--set', String(s), '--model', 'logreg', '--json']);
    expect(train.status, train.stderr).toBe(0);
    const runId = JSON.parse(train.stdout).runId as number;
    const knnTrain = cli(db, ['train', '--set', String(s), '--model', 'knn', '--json']);
    expect(knnTrain.status, knnTrain.stderr).toBe(0);
    const knnRun = JSON.parse(knnTrain.stdout).runId as number;
    const csv = path.join(t.dir, 'scores.csv');
    const r = cli(db, ['ood', '--set', String(s), '--ood-set', String(o), '--runs', `${runId},${knnRun}`, '--scores-out', csv, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { inRows: number; outRows: number; scores: { name: string; metrics: Record<string, number> }[] };
    expect(out).toMatchObject({ inRows: 100, outRows: 90 });
    // logreg has logits (an energy score); k-NN's probabilities are votes: MSP only.
    expect(out.scores.map((x) => x.name)).toEqual(['knn_k1', 'knn_k10', 'mahalanobis', `msp:run-${runId}`, `energy:run-${runId}`, `msp:run-${knnRun}`]);
    const lines = fs.readFileSync(csv, 'utf8').trim().split('\n');
    expect(lines[0]).toBe('sample_id,dataset,split,in_distribution,score_name,score');
    expect(lines).toHaveLength(1 + 6 * 190);
    for (const sc of out.scores) {
      const rows = lines.slice(1).map((l) => l.split(',')).filter((c) => c[4] === sc.name);
      expect(new Set(rows.map((c) => `${c[1]}/${c[2]}/${c[3]}`))).toEqual(new Set(['In/test/1', 'Out/test/0']));
      const inS = rows.filter((c) => c[3] === '1').map((c) => Number(c[5]));
      const outS = rows.filter((c) => c[3] === '0').map((c) => Number(c[5]));
      expect(oodMetrics(inS, outS)).toEqual(sc.metrics);
    }
    // Two different Gaussian mixtures: every feature-space score separates them well.
    for (const sc of out.scores.slice(0, 3)) expect(sc.metrics.auroc).toBeGreaterThan(0.8);
  }, 180_000);

  it('refuses pairs of the same dataset, of different backbones or presets, saying why, and bad --runs', () => {
    const db = path.join(t.dir, 'refuse.db');
    const conn = openDatabase(db);
    const { setId: s } = insertBlobEmbeddingSet(conn, { dim: 8, seed: 1, name: 'A' });
    const sib = insertSiblingSet(conn, s, { name: 'other-backbone' });
    const bb = Number(conn.prepare("INSERT INTO backbones (name, kind, dim, created_at) VALUES ('bb2', 'raw-pixels', 8, ?)").run(nowIso()).lastInsertRowid);
    const { setId: otherBb } = insertBlobEmbeddingSet(conn, { dim: 8, seed: 2, name: 'B', backboneId: bb });
    const { setId: otherPreset } = insertBlobEmbeddingSet(conn, { dim: 8, seed: 3, name: 'C' });
    conn.prepare("UPDATE embedding_sets SET preset = 'dinov2-eval' WHERE id = ?").run(otherPreset);
    const { setId: ok } = insertBlobEmbeddingSet(conn, { dim: 8, seed: 4, name: 'D' });
    conn.close();
    const err = (o: number, extra: string[] = []): string => {
      const r = cli(db, ['ood', '--set', String(s), '--ood-set', String(o), ...extra]);
      expect(r.status).not.toBe(0);
      return r.stderr;
    };
    expect(err(sib)).toMatch(/same dataset/);
    expect(err(otherBb)).toMatch(/different backbones/);
    expect(err(otherPreset)).toMatch(/different presets \(resize-224 vs dinov2-eval\)/);
    expect(err(ok, ['--runs', '999'])).toMatch(/Run 999 is not a finished run/);
  }, 180_000);
});
