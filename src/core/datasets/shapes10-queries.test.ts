import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database';
import { LabError } from '../errors';
import { importDataset } from './import';
import { deleteDataset, getDataset, listDatasets, listSamples, renameDataset } from './queries';
import { generateShapes10, SHAPES10_CLASSES } from './shapes10';

let tmp: string;
let db: Db;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-shapes-'));
  db = openDatabase(path.join(tmp, 'lab.db'));
});
afterAll(() => {
  db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('Shapes-10', () => {
  it('is deterministic, balanced, learnable from pixels but not trivially', () => {
    const a = generateShapes10(500, 100);
    const b = generateShapes10(500, 100);
    expect(a.fingerprint).toBe(b.fingerprint);
    expect(Buffer.compare(Buffer.from(a.train.pixels), Buffer.from(b.train.pixels))).toBe(0);
    expect(a.classes).toEqual([...SHAPES10_CLASSES]);
    const counts = new Array(10).fill(0);
    for (const l of a.train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(50));
    expect(a.train.pixels.length).toBe(500 * 3072);
    // Train and test are different draws.
    expect(Buffer.compare(Buffer.from(a.train.pixels.subarray(0, 3072)), Buffer.from(a.test.pixels.subarray(0, 3072)))).not.toBe(0);
    // Colours and positions vary per image: raw-pixel class centroids beat chance (10 %) but do not solve it.
    const dim = 3072;
    const cent = Array.from({ length: 10 }, () => new Float64Array(dim));
    for (let i = 0; i < 500; i++) {
      const c = cent[a.train.labels[i]!]!;
      for (let k = 0; k < dim; k++) c[k]! += a.train.pixels[i * dim + k]! / 50;
    }
    let correct = 0;
    for (let i = 0; i < 100; i++) {
      let best = -1;
      let bestD = Infinity;
      for (let c = 0; c < 10; c++) {
        let d = 0;
        for (let k = 0; k < dim; k++) d += (a.test.pixels[i * dim + k]! - cent[c]![k]!) ** 2;
        if (d < bestD) [bestD, best] = [d, c];
      }
      if (best === a.test.labels[i]) correct++;
    }
    expect(correct).toBeGreaterThan(15);
    expect(correct).toBeLessThan(90);
  });

  it('imports with the default name and sizes', async () => {
    const r = await importDataset(db, { type: 'sample', name: 'shapes10', train: 200, test: 50 });
    expect(r.name).toBe('Shapes-10');
    expect(r.counts).toEqual({ train: 200, test: 50 });
    expect(r.fingerprint).toBe(generateShapes10(200, 50).fingerprint);
    const s = getDataset(db, r.datasetId);
    expect(s.kind).toBe('sample');
    expect(s.perClass.train).toEqual(new Array(10).fill(20));
  });

  it('refuses sizes out of range', async () => {
    await expect(importDataset(db, { type: 'sample', name: 'shapes10', train: 5 }, { name: 'tiny' })).rejects.toMatchObject({ code: 'invalid_input' });
  });
});

describe('dataset queries', () => {
  it('lists, renames (conflict on a used name), deletes with cascade', async () => {
    const a = await importDataset(db, { type: 'sample', name: 'shapes10', train: 20, test: 10 }, { name: 'A' });
    const b = await importDataset(db, { type: 'sample', name: 'shapes10', train: 20, test: 10 }, { name: 'B' });
    expect(listDatasets(db).map((d) => d.name)).toEqual(expect.arrayContaining(['A', 'B']));
    expect(() => renameDataset(db, a.datasetId, 'B')).toThrow(expect.objectContaining({ code: 'conflict' }));
    renameDataset(db, a.datasetId, 'A2');
    expect(getDataset(db, a.datasetId).name).toBe('A2');
    deleteDataset(db, b.datasetId);
    expect(() => getDataset(db, b.datasetId)).toThrow(LabError);
    expect(db.prepare('SELECT COUNT(*) FROM samples WHERE dataset_id = ?').pluck().get(b.datasetId)).toBe(0);
    expect(() => deleteDataset(db, b.datasetId)).toThrow(expect.objectContaining({ code: 'not_found' }));
    expect(() => renameDataset(db, 99999, 'x')).toThrow(expect.objectContaining({ code: 'not_found' }));
  });

  it('pages in a stable order: train before test, by label, then import order', async () => {
    const r = await importDataset(db, { type: 'sample', name: 'shapes10', train: 30, test: 20 }, { name: 'paging' });
    const all: number[] = [];
    for (let offset = 0; offset < 50; offset += 7) all.push(...listSamples(db, { datasetId: r.datasetId, offset, limit: 7 }).items.map((x) => x.idx));
    expect(all.length).toBe(50);
    expect(new Set(all).size).toBe(50);
    const first = listSamples(db, { datasetId: r.datasetId, offset: 0, limit: 4 }).items;
    expect(first.map((x) => [x.split, x.label])).toEqual([['train', 0], ['train', 0], ['train', 0], ['train', 1]]);
    const testOnes = listSamples(db, { datasetId: r.datasetId, split: 'test', label: 1, offset: 0, limit: 100 });
    expect(testOnes.total).toBe(2);
    expect(testOnes.items.map((x) => x.source)).toEqual(['shapes10/test#1', 'shapes10/test#11']);
    expect(() => listSamples(db, { datasetId: r.datasetId, offset: -1, limit: 10 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => listSamples(db, { datasetId: r.datasetId, offset: 0, limit: 100000 })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
    expect(() => listSamples(db, { datasetId: 424242, offset: 0, limit: 10 })).toThrow(expect.objectContaining({ code: 'not_found' }));
  });
});
