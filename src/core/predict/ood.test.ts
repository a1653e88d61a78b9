/**
 * The "how unusual is this image" score of Try-an-image (probe.ts), on a real embedding set: the fixture
 * CIFAR-10 archive (100 train / 20 test images) through the raw-pixels backbone. A training image must be
 * scored familiar (its own vector is its nearest neighbour), while uniform noise and an image of another
 * dataset (Shapes-10) must be flagged unusual: below every test image's score.
 */
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtures, tempDir } from '../../../tests/helpers';
import { ensureBuiltinBackbones, listBackbones } from '../backbones/registry';
import { openDatabase, type Db } from '../db/database';
import { importDataset } from '../datasets/import';
import { loadSampleRGB } from '../datasets/queries';
import { createEmbeddingSet, runEmbeddingSet } from '../embeddings/pipeline';
import { loadSetMatrix } from '../embeddings/queries';
import { Prng } from '../math/prng';
import { listProbes } from './queries';
import { runProbe } from './probe';

const t = tempDir('dinolab-ood-');
const modelsDir = path.join(t.dir, 'models');
let db: Db;
let setId = 0;
let shapesId = 0;

async function png(name: string, img: { data: Uint8Array; width: number; height: number }): Promise<string> {
  const file = path.join(t.dir, name);
  await sharp(Buffer.from(img.data), { raw: { width: img.width, height: img.height, channels: 3 } }).png().toFile(file);
  return file;
}

beforeAll(async () => {
  db = openDatabase(path.join(t.dir, 'lab.db'));
  const cifar = await importDataset(db, { type: 'cifar', path: path.join(fixtures, 'cifar/cifar-10-python.tar.gz') });
  const shapes = await importDataset(db, { type: 'sample', name: 'shapes10', train: 20, test: 10 });
  shapesId = shapes.datasetId;
  ensureBuiltinBackbones(db, modelsDir);
  const raw = listBackbones(db).find((b) => b.name === 'raw-pixels')!;
  setId = createEmbeddingSet(db, { datasetId: cifar.datasetId, backboneId: raw.id, preset: 'resize-224' });
  const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 32, loadImage: (id) => loadSampleRGB(db, id) });
  expect(s).toMatchObject({ status: 'done', done: 120 });
}, 120_000);
afterAll(() => {
  db?.close();
  t.cleanup();
});

describe('out-of-distribution score of a tried image', () => {
  it('scores every training image familiar and flags noise and Shapes-10 images unusual', async () => {
    const train = loadSetMatrix(db, setId, 'train');
    const images: { name: string; file: string }[] = [];
    for (const [i, id] of Array.from(train.sampleIds).entries()) images.push({ name: `train-${i}.png`, file: await png(`train-${i}.png`, await loadSampleRGB(db, id)) });
    const rng = new Prng(3);
    for (let i = 0; i < 5; i++) {
      const noise = { data: Uint8Array.from({ length: 32 * 32 * 3 }, () => Math.floor(rng.next() * 256)), width: 32, height: 32 };
      images.push({ name: `noise-${i}.png`, file: await png(`noise-${i}.png`, noise) });
    }
    const shapeIds = (db.prepare('SELECT id FROM samples WHERE dataset_id = ? ORDER BY id LIMIT 5').all(shapesId) as { id: number }[]).map((r) => r.id);
    for (const [i, id] of shapeIds.entries()) images.push({ name: `shape-${i}.png`, file: await png(`shape-${i}.png`, await loadSampleRGB(db, id)) });
    const out = await runProbe(db, setId, images, { modelsDir });
    expect(out.probeIds).toHaveLength(110);
    const byName = new Map(listProbes(db, setId).map((p) => [p.name, p.results]));
    const group = (prefix: string): ReturnType<typeof byName.get>[] => images.filter((im) => im.name.startsWith(prefix)).map((im) => byName.get(im.name));
    const trained = group('train-');
    const odd = [...group('noise-'), ...group('shape-')];
    const pct = (xs: typeof trained): string => xs.map((r) => r!.ood.percentile.toFixed(2)).join(' ');
    console.log(`OOD percentiles: training images min ${Math.min(...trained.map((r) => r!.ood.percentile)).toFixed(2)}; noise ${pct(group('noise-'))}; Shapes-10 ${pct(group('shape-'))}`);
    // A training image finds itself (the PNG round trip is lossless) and is never flagged.
    trained.forEach((r, i) => {
      expect(r!.neighbors[0]!.sampleId, `train-${i}`).toBe(train.sampleIds[i]);
      expect(r!.neighbors[0]!.similarity, `train-${i}`).toBeGreaterThan(0.99999);
      expect(r!.ood.unusual, `train-${i}`).toBe(false);
    });
    // Noise and another dataset's images score below every test image of the set, and below every training image.
    const lowestTrained = Math.min(...trained.map((r) => r!.ood.similarity));
    odd.forEach((r, i) => {
      expect(r!.ood.unusual, `odd ${i}`).toBe(true);
      expect(r!.ood.percentile, `odd ${i}`).toBe(0);
      expect(r!.ood.similarity, `odd ${i}`).toBeLessThan(lowestTrained);
    });
  }, 120_000);
});
