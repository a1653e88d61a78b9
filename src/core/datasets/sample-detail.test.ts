import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { f32ToBlob, nowIso, openDatabase } from '../db/database';
import { ensureSet, vectorWriter } from '../embeddings/queries';
import { Prng } from '../math/prng';
import { nearestTraining } from './sample-detail';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-neighbours-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("a sample's nearest training images", () => {
  // 55 train and 18 test samples of 7-d vectors; every 11th is a copy of the vector 5 before it (exact ties).
  const db = openDatabase(path.join(dir, 'lab.db'));
  const datasetId = Number(db.prepare(`INSERT INTO datasets (name, kind, classes, created_at) VALUES ('d', 'folder', '["a","b","c"]', ?)`).run(nowIso()).lastInsertRowid);
  const backboneId = Number(db.prepare(`INSERT INTO backbones (name, kind, dim, created_at) VALUES ('raw', 'raw-pixels', 7, ?)`).run(nowIso()).lastInsertRowid);
  const setId = ensureSet(db, { datasetId, backboneId, preset: 'p', dim: 7 });
  const D = 7;
  const rng = new Prng(5);
  const ins = db.prepare(`INSERT INTO samples (dataset_id, idx, split, label, source, width, height) VALUES (?, ?, ?, ?, 's', 1, 1)`);
  const rows: { id: number; split: string; label: number; v: Float32Array }[] = [];
  for (let i = 0; i < 73; i++) {
    const split = i % 4 === 3 ? 'test' : 'train';
    const id = Number(ins.run(datasetId, i, split, i % 3).lastInsertRowid);
    const v = i > 5 && i % 11 === 0 ? rows[i - 5]!.v : Float32Array.from({ length: D }, () => rng.next() * 2 - 1);
    rows.push({ id, split, label: i % 3, v });
  }
  const write = vectorWriter(db, setId);
  for (const r of rows) write([r.id], r.v, D);

  /** Brute force in float64: every other training row by cosine, highest first, ties by sample id. */
  const reference = (q: Float32Array, exclude: number): { sampleId: number; similarity: number }[] => {
    const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
    return rows
      .filter((r) => r.split === 'train' && r.id !== exclude)
      .map((r) => ({ sampleId: r.id, similarity: r.v.reduce((s, x, j) => s + x * q[j]!, 0) / (norm(r.v) * norm(q)) }))
      .sort((a, b) => b.similarity - a.similarity || a.sampleId - b.sampleId);
  };

  it('equal a brute-force cosine ranking, read in pages of any size, without the sample itself or test images', async () => {
    const trainRows = rows.filter((r) => r.split === 'train').length;
    expect(trainRows).toBeGreaterThan(50);
    for (const probe of [rows[0]!, rows[3]!, rows[11]!]) {
      const ref = reference(probe.v, probe.id).slice(0, 8);
      for (const pageRows of [1, 3, 10, 2048]) {
        const got = await nearestTraining(db, setId, probe.v, probe.id, 8, pageRows);
        expect(got.map((g) => g.sampleId), `page ${pageRows}`).toEqual(ref.map((r) => r.sampleId));
        got.forEach((g, i) => expect(Math.abs(g.similarity - ref[i]!.similarity)).toBeLessThan(1e-12));
        expect(got.map((g) => g.label)).toEqual(ref.map((r) => rows.find((x) => x.id === r.sampleId)!.label));
      }
    }
    // a copied vector is its original's nearest neighbour, at similarity 1
    const copy = rows[11]!;
    const got = await nearestTraining(db, setId, copy.v, copy.id);
    expect(got[0]).toMatchObject({ sampleId: rows[6]!.id });
    expect(got[0]!.similarity).toBeCloseTo(1, 12);
  });

  it('gives every training row when k is larger, and refuses a vector of the wrong length', async () => {
    const all = await nearestTraining(db, setId, rows[0]!.v, rows[0]!.id, 500, 7);
    expect(all.map((g) => g.sampleId)).toEqual(reference(rows[0]!.v, rows[0]!.id).map((r) => r.sampleId));
    db.prepare('UPDATE embeddings SET vector = ? WHERE set_id = ? AND sample_id = ?').run(f32ToBlob(new Float32Array(3)), setId, rows[1]!.id);
    await expect(nearestTraining(db, setId, rows[0]!.v, rows[0]!.id)).rejects.toMatchObject({ code: 'db_corrupt' });
  });
});
