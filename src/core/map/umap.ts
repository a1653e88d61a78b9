/**
 * The embedding map: a 2-D UMAP (umap-js) of a seeded subsample of an embedding set, stored in `maps`.
 * Runs in the job process (UMAP on 5,000 points takes tens of seconds).
 */
import { UMAP } from 'umap-js';
import { nowIso, type Db } from '../db/database';
import { LabError, throwIfAborted } from '../errors';
import { loadSetMatrix } from '../embeddings/queries';
import { mulberry32 } from '../math/prng';
import { saveMap, type MapPoint, type MapResult } from './queries';

// The stored map is read through the feature's queries; lab.ts still imports it from here.

/** Computes and stores the map of a set. */
export async function computeMap(
  db: Db,
  setId: number,
  opts: { n: number; seed: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void },
): Promise<MapResult> {
  const train = loadSetMatrix(db, setId, 'train');
  const test = loadSetMatrix(db, setId, 'test');
  const total = train.X.rows + test.X.rows;
  if (total < 10) throw new LabError('invalid_input', `Embedding set ${setId} has ${total} vectors: embed the dataset first.`);
  const dim = train.X.rows ? train.X.cols : test.X.cols;
  const rand = mulberry32(opts.seed);
  // Seeded subsample without replacement (partial Fisher-Yates over all rows).
  const order = Array.from({ length: total }, (_, i) => i);
  const n = Math.min(opts.n, total);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(rand() * (total - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const picked = order.slice(0, n).sort((a, b) => a - b);
  const data: number[][] = [];
  const meta: Omit<MapPoint, 'x' | 'y'>[] = [];
  for (const r of picked) {
    const fromTrain = r < train.X.rows;
    const src = fromTrain ? train : test;
    const i = fromTrain ? r : r - train.X.rows;
    data.push(Array.from(src.X.data.subarray(i * dim, (i + 1) * dim)));
    meta.push({ label: src.y[i]!, sampleId: src.sampleIds[i]!, split: fromTrain ? 'train' : 'test' });
  }
  const umap = new UMAP({ nComponents: 2, nNeighbors: Math.min(15, n - 1), minDist: 0.1, random: mulberry32(opts.seed + 1) });
  const epochs = umap.initializeFit(data);
  for (let e = 0; e < epochs; e++) {
    if (e % 10 === 0) {
      throwIfAborted(opts.signal);
      opts.onProgress?.(e, epochs);
      await new Promise((r) => setImmediate(r));
    }
    umap.step();
  }
  const emb = umap.getEmbedding();
  const points = meta.map((m, i) => ({ ...m, x: emb[i]![0]!, y: emb[i]![1]! }));
  const result: MapResult = { setId, n, seed: opts.seed, createdAt: nowIso(), points };
  saveMap(db, result);
  opts.onProgress?.(epochs, epochs);
  return result;
}
