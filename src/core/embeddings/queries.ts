import type { Db } from '../db/database';
import { blobToF32 } from '../db/database';
import { type Matrix, matrix } from '../classifiers/types';
import { LabError } from '../errors';

/** An embedding set as listed in the UI and CLI, with how many of its vectors exist. */
export interface EmbeddingSetInfo {
  id: number;
  datasetId: number;
  datasetName: string;
  backboneId: number;
  backboneName: string;
  preset: string;
  provider: string | null;
  batchSize: number | null;
  /** Where the images were preprocessed: 'graph' (inside the model) or 'js'; null before any vector. */
  preprocessing: string | null;
  dim: number;
  status: 'pending' | 'running' | 'partial' | 'done' | 'failed';
  imagesPerSec: number | null;
  seconds: number | null;
  error: string | null;
  notice: string | null;
  createdAt: string;
  /** Vectors stored. */
  done: number;
  /** Samples in the dataset. */
  total: number;
}

interface Raw {
  id: number;
  dataset_id: number;
  dataset_name: string;
  backbone_id: number;
  backbone_name: string;
  preset: string;
  provider: string | null;
  batch_size: number | null;
  preprocessing: string | null;
  dim: number;
  status: EmbeddingSetInfo['status'];
  images_per_sec: number | null;
  seconds: number | null;
  error: string | null;
  notice: string | null;
  created_at: string;
  done: number;
  total: number;
}

const SELECT = `
SELECT es.*, d.name AS dataset_name, b.name AS backbone_name,
  (SELECT COUNT(*) FROM embeddings e WHERE e.set_id = es.id) AS done,
  (SELECT COUNT(*) FROM samples s WHERE s.dataset_id = es.dataset_id) AS total
FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id JOIN backbones b ON b.id = es.backbone_id`;

function toInfo(r: Raw): EmbeddingSetInfo {
  return {
    id: r.id,
    datasetId: r.dataset_id,
    datasetName: r.dataset_name,
    backboneId: r.backbone_id,
    backboneName: r.backbone_name,
    preset: r.preset,
    provider: r.provider,
    batchSize: r.batch_size,
    preprocessing: r.preprocessing,
    dim: r.dim,
    status: r.status,
    imagesPerSec: r.images_per_sec,
    seconds: r.seconds,
    error: r.error,
    notice: r.notice,
    createdAt: r.created_at,
    done: r.done,
    total: r.total,
  };
}

/** All embedding sets, newest first. */
export function listSets(db: Db): EmbeddingSetInfo[] {
  return (db.prepare(`${SELECT} ORDER BY es.id DESC`).all() as Raw[]).map(toInfo);
}

/** One embedding set with its vector counts; LabError('not_found') if unknown. */
export function getSet(db: Db, id: number): EmbeddingSetInfo {
  const r = db.prepare(`${SELECT} WHERE es.id = ?`).get(id) as Raw | undefined;
  if (!r) throw new LabError('not_found', `Embedding set ${id} does not exist.`);
  return toInfo(r);
}

/** Deletes a set with its vectors (and, by cascade, the runs trained on it). */
export function deleteSet(db: Db, id: number): void {
  const res = db.prepare('DELETE FROM embedding_sets WHERE id = ?').run(id);
  if (res.changes === 0) throw new LabError('not_found', `Embedding set ${id} does not exist.`);
}

/** Which samples to load: one split or both. */
export type SplitChoice = 'train' | 'test' | 'all';

/**
 * Loads a set's vectors of one split as a matrix, with labels and sample ids, ordered by sample id.
 * Samples without a vector (an unfinished set) are left out.
 */
export function loadSetMatrix(db: Db, setId: number, split: SplitChoice): { X: Matrix; y: Int32Array; sampleIds: Int32Array } {
  const set = db.prepare('SELECT dim FROM embedding_sets WHERE id = ?').get(setId) as { dim: number } | undefined;
  if (!set) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  const where = split === 'all' ? '' : 'AND s.split = ?';
  const args: unknown[] = split === 'all' ? [setId] : [setId, split];
  const count = (
    db.prepare(`SELECT COUNT(*) AS n FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = ? ${where}`).get(...args) as { n: number }
  ).n;
  const dim = set.dim;
  const X = matrix(count, dim);
  const y = new Int32Array(count);
  const sampleIds = new Int32Array(count);
  const stmt = db.prepare(
    `SELECT e.sample_id AS id, s.label AS label, e.vector AS vector FROM embeddings e JOIN samples s ON s.id = e.sample_id
     WHERE e.set_id = ? ${where} ORDER BY e.sample_id`,
  );
  let i = 0;
  for (const r of stmt.iterate(...args) as Iterable<{ id: number; label: number; vector: Buffer }>) {
    if (i >= count) break;
    if (r.vector.byteLength !== dim * 4) {
      throw new LabError('db_corrupt', `Vector of sample ${r.id} in set ${setId} has ${r.vector.byteLength / 4} values, expected ${dim}.`);
    }
    X.data.set(blobToF32(r.vector, dim), i * dim);
    y[i] = r.label;
    sampleIds[i] = r.id;
    i++;
  }
  return { X, y, sampleIds };
}
