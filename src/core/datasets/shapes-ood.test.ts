/**
 * Shapes-OOD, the offline demo's out-of-distribution pair for Shapes-10: generated deterministically, no
 * class shared with Shapes-10, importable as a sample dataset; embedded with the raw-pixels baseline next
 * to Shapes-10, the OOD benchmark has content (real import, real embedding pipeline, real SQLite file).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { ensureBuiltinBackbones, listBackbones, RAW_PIXELS } from '../backbones/registry';
import { openDatabase, type Db } from '../db/database';
import { createEmbeddingSet, runEmbeddingSet } from '../embeddings/pipeline';
import { runOodBenchmark } from '../ood/benchmark';
import { importDataset } from './import';
import { getDataset, loadSampleRGB } from './queries';
import { generateShapes10, generateShapesOod, SHAPES10_CLASSES, SHAPES_OOD_CLASSES } from './shapes10';

const t = tempDir('dinolab-shapes-ood-');
let db: Db;
beforeAll(() => {
  db = openDatabase(path.join(t.dir, 'lab.db'));
});
afterAll(() => {
  db?.close();
  t.cleanup();
});

describe('Shapes-OOD', () => {
  it('is deterministic, balanced, and shares no class with Shapes-10', () => {
    const a = generateShapesOod(100, 50);
    expect(generateShapesOod(100, 50).fingerprint).toBe(a.fingerprint);
    expect(a.classes).toEqual([...SHAPES_OOD_CLASSES]);
    expect(a.classes.filter((c) => (SHAPES10_CLASSES as readonly string[]).includes(c))).toEqual([]);
    const counts = new Array(5).fill(0);
    for (const l of a.test.labels) counts[l]++;
    expect(counts).toEqual(new Array(5).fill(10));
    expect(a.fingerprint).not.toBe(generateShapes10(100, 50).fingerprint);
    // Every class draws something: its images differ from the plain ground (not all one colour).
    for (let c = 0; c < 5; c++) {
      const px = a.test.pixels.subarray(c * 3072, (c + 1) * 3072);
      const lum = Array.from({ length: 1024 }, (_, i) => px[i * 3]! + px[i * 3 + 1]! + px[i * 3 + 2]!);
      expect(Math.max(...lum) - Math.min(...lum), SHAPES_OOD_CLASSES[c]).toBeGreaterThan(150);
    }
  });

  it('imports as a sample and, embedded with raw pixels beside Shapes-10, separates from it on the OOD benchmark', async () => {
    const inDs = (await importDataset(db, { type: 'sample', name: 'shapes10', train: 300, test: 100 })).datasetId;
    const outDs = (await importDataset(db, { type: 'sample', name: 'shapes-ood', train: 50, test: 100 })).datasetId;
    expect(getDataset(db, outDs)).toMatchObject({ name: 'Shapes-OOD', classes: [...SHAPES_OOD_CLASSES] });
    await expect(importDataset(db, { type: 'sample', name: 'shapes-ood', test: 5 })).rejects.toThrow(/Shapes-OOD test size/);
    ensureBuiltinBackbones(db, t.dir);
    const raw = listBackbones(db).find((b) => b.name === RAW_PIXELS)!.id;
    const sets: number[] = [];
    for (const datasetId of [inDs, outDs]) {
      const setId = createEmbeddingSet(db, { datasetId, backboneId: raw, preset: 'resize-224' });
      await runEmbeddingSet(db, setId, { provider: 'cpu', modelsDir: t.dir, loadImage: (id) => loadSampleRGB(db, id) });
      sets.push(setId);
    }
    const r = await runOodBenchmark(db, { setId: sets[0]!, oodSetId: sets[1]! });
    expect(r.inIds.length).toBe(100);
    expect(r.outIds.length).toBe(100);
    const byName = Object.fromEntries(r.scores.map((s) => [s.name, s.metrics]));
    // Seeded data and a deterministic pipeline: measured knn_k1 0.59, knn_k10 0.53, mahalanobis 0.63 (hues
    // dominate raw pixels; the demo's point is that the page has content, a real backbone separates better).
    expect(Object.keys(byName)).toEqual(['knn_k1', 'knn_k10', 'mahalanobis']);
    expect(byName.mahalanobis!.auroc).toBeGreaterThan(0.58);
    expect(byName.knn_k1!.auroc).toBeGreaterThan(0.55);
  }, 120_000);
});
