import type { Db } from '../../db/database';
import { nowIso } from '../../db/database';
import type { RGBImage } from '../../images/decode';

/**
 * Test helpers: a dataset of deterministic 32x32 images stored inline (like CIFAR), and the loader the
 * pipeline needs for it. The app's own loader comes from the datasets module.
 */

/** Inserts a dataset of `n` 32x32 images (every 5th one in the test split) and returns its id. */
export function insertPixelDataset(db: Db, name: string, n: number, classes = ['cat', 'dog', 'ship']): number {
  const ds = db
    .prepare(`INSERT INTO datasets (name, kind, classes, source, created_at) VALUES (?, 'cifar10', ?, 'test', ?)`)
    .run(name, JSON.stringify(classes), nowIso());
  const datasetId = Number(ds.lastInsertRowid);
  const ins = db.prepare(
    `INSERT INTO samples (dataset_id, idx, split, label, source, width, height, pixels) VALUES (?, ?, ?, ?, ?, 32, 32, ?)`,
  );
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const px = Buffer.alloc(3072);
      for (let j = 0; j < 3072; j++) px[j] = (i * 31 + j * 7 + ((j * j) >> 5)) & 255;
      ins.run(datasetId, i, i % 5 === 0 ? 'test' : 'train', i % classes.length, `data_batch_1#${i}`, px);
    }
  })();
  return datasetId;
}

/** A loader reading the inline 32x32 pixels of a sample. */
export function pixelLoader(db: Db, delayMs = 0): (sampleId: number) => Promise<RGBImage> {
  const get = db.prepare('SELECT pixels, width, height FROM samples WHERE id = ?');
  return async (id) => {
    if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
    const r = get.get(id) as { pixels: Buffer; width: number; height: number };
    return { data: new Uint8Array(r.pixels), width: r.width, height: r.height };
  };
}
