/**
 * The `embedding_sets` and `embeddings` tables: every read and write of them, and the reads of samples
 * and datasets that embedding needs.
 */
import type { Db } from '../db/database';
import { blobToF32, f32ToBlob, nowIso } from '../db/database';
import { type Matrix, matrix } from '../math/matrix';
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

/** One sample's vector in a set, or null when the set has none for it. */
export function sampleVector(db: Db, setId: number, sampleId: number): Float32Array | null {
  const r = db.prepare('SELECT e.vector, es.dim FROM embeddings e JOIN embedding_sets es ON es.id = e.set_id WHERE e.set_id = ? AND e.sample_id = ?').get(setId, sampleId) as
    | { vector: Buffer; dim: number }
    | undefined;
  return r ? blobToF32(r.vector, r.dim) : null;
}

/** How many vectors a set has per split, and its dataset's number of classes. */
export function setShape(db: Db, setId: number): { trainRows: number; testRows: number; numClasses: number } {
  const rows = db
    .prepare(`SELECT s.split AS split, COUNT(*) AS n FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = ? GROUP BY s.split`)
    .all(setId) as { split: string; n: number }[];
  const classes = db.prepare('SELECT d.classes FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id WHERE es.id = ?').get(setId) as { classes: string } | undefined;
  return {
    trainRows: rows.find((r) => r.split === 'train')?.n ?? 0,
    testRows: rows.find((r) => r.split === 'test')?.n ?? 0,
    numClasses: classes ? (JSON.parse(classes.classes) as unknown[]).length : 0,
  };
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

/** Up to `limit` training vectors of a set with sample ids above `afterSampleId`, by sample id (a keyset page). */
export function trainVectorPage(db: Db, setId: number, afterSampleId: number, limit: number): { id: number; label: number; vector: Buffer }[] {
  return db
    .prepare(
      `SELECT e.sample_id AS id, s.label AS label, e.vector AS vector FROM embeddings e JOIN samples s ON s.id = e.sample_id
       WHERE e.set_id = ? AND s.split = 'train' AND e.sample_id > ? ORDER BY e.sample_id LIMIT ?`,
    )
    .all(setId, afterSampleId, limit) as { id: number; label: number; vector: Buffer }[];
}

/** A row of the `embedding_sets` table, as stored. */
export interface SetRow {
  id: number;
  dataset_id: number;
  backbone_id: number;
  preset: string;
  dim: number;
  status: EmbeddingSetInfo['status'];
  seconds: number | null;
  preprocessing: string | null;
}

/** The stored row of a set, or undefined. */
export function getSetRow(db: Db, setId: number): SetRow | undefined {
  return db.prepare('SELECT * FROM embedding_sets WHERE id = ?').get(setId) as SetRow | undefined;
}

/** The set for (dataset, backbone, preset) with how many vectors it holds, or undefined when there is none yet. */
export function findSet(db: Db, p: { datasetId: number; backboneId: number; preset: string }): (SetRow & { vectors: number }) | undefined {
  return db
    .prepare(
      `SELECT es.*, (SELECT count(*) FROM embeddings e WHERE e.set_id = es.id) AS vectors
       FROM embedding_sets es WHERE dataset_id = ? AND backbone_id = ? AND preset = ?`,
    )
    .get(p.datasetId, p.backboneId, p.preset) as (SetRow & { vectors: number }) | undefined;
}

/** This machine's newest measured embedding rate (images/s) with a backbone, or null when it has embedded nothing with it. */
export function lastEmbedRate(db: Db, backboneId: number): number | null {
  const r = db
    .prepare('SELECT images_per_sec AS rate FROM embedding_sets WHERE backbone_id = ? AND images_per_sec > 0 ORDER BY id DESC LIMIT 1')
    .get(backboneId) as { rate: number } | undefined;
  return r?.rate ?? null;
}

/** The set for (dataset, backbone, preset), created 'pending' when there is none; returns its id. */
export function ensureSet(db: Db, p: { datasetId: number; backboneId: number; preset: string; dim: number }): number {
  db.prepare(
    `INSERT OR IGNORE INTO embedding_sets (dataset_id, backbone_id, preset, dim, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
  ).run(p.datasetId, p.backboneId, p.preset, p.dim, nowIso());
  const row = db
    .prepare('SELECT id FROM embedding_sets WHERE dataset_id = ? AND backbone_id = ? AND preset = ?')
    .get(p.datasetId, p.backboneId, p.preset) as { id: number };
  return row.id;
}

/*
 * Status of a set. Every change of it is one of the functions below:
 *   pending  created (ensureSet), nothing embedded yet
 *   running  a run started (markSetRunning); a process killed mid-run leaves it so until its job is
 *            marked interrupted (markSetPartial, markRunningSetsPartial) or the set is run again
 *   done     every sample has a vector (endSetRun)
 *   partial  cancelled, out of disk, or its job was interrupted: whole batches are kept and the next
 *            run resumes (endSetRun, stopSet, markSetPartial, markRunningSetsPartial)
 *   failed   the run hit an error; running the set again retries the samples left (stopSet)
 */

/** The status of a set; LabError('not_found') if unknown. */
export function getSetStatus(db: Db, setId: number): EmbeddingSetInfo['status'] {
  const r = db.prepare('SELECT status FROM embedding_sets WHERE id = ?').get(setId) as { status: EmbeddingSetInfo['status'] } | undefined;
  if (!r) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  return r.status;
}

/** A run starts: 'running', and the error of an earlier run is cleared. */
export function markSetRunning(db: Db, setId: number): void {
  db.prepare('UPDATE embedding_sets SET status = ?, error = ? WHERE id = ?').run('running', null, setId);
}

/** Records how the run's embedder runs: provider, where preprocessing happens, its notices (or null). */
export function recordSetEngine(db: Db, setId: number, e: { provider: string; preprocessing: string; notice: string | null }): void {
  db.prepare('UPDATE embedding_sets SET provider = ?, preprocessing = ?, notice = ? WHERE id = ?').run(e.provider, e.preprocessing, e.notice, setId);
}

/** Records the batch size the run settled on and its throughput. */
export function recordSetThroughput(db: Db, setId: number, batchSize: number, imagesPerSec: number): void {
  db.prepare('UPDATE embedding_sets SET batch_size = ?, images_per_sec = ? WHERE id = ?').run(batchSize, imagesPerSec, setId);
}

/** A run ends by itself: 'done', or 'partial' when it was cancelled between batches; seconds of all runs. */
export function endSetRun(db: Db, setId: number, status: 'done' | 'partial', seconds: number): void {
  db.prepare('UPDATE embedding_sets SET status = ?, seconds = ? WHERE id = ?').run(status, seconds, setId);
}

/**
 * A run stops on an error: 'partial' (cancelled, disk full: resumable as it is) or 'failed'. Without an
 * error message the set keeps the one it has.
 */
export function stopSet(db: Db, setId: number, status: 'partial' | 'failed', seconds: number, error?: string): void {
  if (error === undefined) db.prepare('UPDATE embedding_sets SET status = ?, seconds = ? WHERE id = ?').run(status, seconds, setId);
  else db.prepare('UPDATE embedding_sets SET status = ?, error = ?, seconds = ? WHERE id = ?').run(status, error, seconds, setId);
}

/** The job running a set was interrupted (killed, host gone): a running or pending set becomes 'partial'. */
export function markSetPartial(db: Db, setId: number, reason: string): void {
  db.prepare(`UPDATE embedding_sets SET status = 'partial', error = ? WHERE id = ? AND status IN ('running','pending')`).run(reason, setId);
}

/** A job that may have been running any set was interrupted: every 'running' set becomes 'partial'. */
export function markRunningSetsPartial(db: Db, reason: string): void {
  db.prepare(`UPDATE embedding_sets SET status = 'partial', error = ? WHERE status = 'running'`).run(reason);
}

/** Vectors stored for a set. */
export function countVectors(db: Db, setId: number): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE set_id = ?').get(setId) as { n: number }).n;
}

/** Ids of the dataset's samples that have no vector in the set yet, ascending. */
export function pendingSampleIds(db: Db, datasetId: number, setId: number): number[] {
  const rows = db
    .prepare(
      `SELECT s.id FROM samples s WHERE s.dataset_id = ?
       AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.set_id = ? AND e.sample_id = s.id) ORDER BY s.id`,
    )
    .all(datasetId, setId) as { id: number }[];
  return rows.map((r) => r.id);
}

/** Up to `limit` distinct image sizes of a dataset. */
export function imageSizes(db: Db, datasetId: number, limit: number): { width: number; height: number }[] {
  return db.prepare('SELECT width, height FROM samples WHERE dataset_id = ? GROUP BY width, height LIMIT ?').all(datasetId, limit) as {
    width: number;
    height: number;
  }[];
}

/**
 * A writer of one batch of vectors (n x dim, back to back) for the samples `ids`, in one transaction: a
 * crash leaves whole batches only, and a sample that already has a vector keeps it.
 */
export function vectorWriter(db: Db, setId: number): (ids: number[], vecs: Float32Array, dim: number) => void {
  const insert = db.prepare('INSERT OR IGNORE INTO embeddings (set_id, sample_id, vector) VALUES (?, ?, ?)');
  return db.transaction((ids: number[], vecs: Float32Array, dim: number) => {
    for (let i = 0; i < ids.length; i++) insert.run(setId, ids[i], f32ToBlob(vecs.subarray(i * dim, (i + 1) * dim)));
  });
}

/** The class names of the set's dataset, as stored (a JSON array). */
export function setClassesJson(db: Db, setId: number): string {
  const ds = db.prepare('SELECT d.classes FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id WHERE es.id = ?').get(setId) as { classes: string };
  return ds.classes;
}

/** The train and test vectors of an embedding set, rows ordered by sample id. */
export interface SetData {
  numClasses: number;
  dim: number;
  fingerprint: string | null;
  train: { X: Matrix; y: Int32Array; ids: Int32Array };
  test: { X: Matrix; y: Int32Array; ids: Int32Array };
}

/** Loads an embedding set's vectors; the set must be complete (status 'done'). */
export function loadSetData(db: Db, setId: number): SetData {
  const set = db
    .prepare(
      `SELECT es.id, es.status, es.dim, d.classes, d.fingerprint, d.name
       FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id WHERE es.id = ?`,
    )
    .get(setId) as { id: number; status: string; dim: number; classes: string; fingerprint: string | null; name: string } | undefined;
  if (!set) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  if (set.status !== 'done') {
    throw new LabError(
      'conflict',
      `Embedding set ${setId} is '${set.status}', not complete: finish (or resume) its embedding job before training on it.`,
    );
  }
  let numClasses = 0;
  try {
    const classes = JSON.parse(set.classes) as unknown;
    if (Array.isArray(classes)) numClasses = classes.length;
  } catch {
    /* fall back to the labels */
  }
  const rows = db
    .prepare(
      `SELECT s.id AS id, s.split AS split, s.label AS label, e.vector AS vector
       FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = ? ORDER BY s.id`,
    )
    .all(setId) as { id: number; split: 'train' | 'test'; label: number; vector: Buffer }[];
  const D = set.dim;
  const parts = { train: [] as typeof rows, test: [] as typeof rows };
  let maxLabel = -1;
  for (const r of rows) {
    if (r.vector.byteLength !== D * 4) {
      throw new LabError('db_corrupt', `Embedding of sample ${r.id} in set ${setId} has ${r.vector.byteLength / 4} values, expected ${D}.`);
    }
    parts[r.split].push(r);
    if (r.label > maxLabel) maxLabel = r.label;
  }
  numClasses = Math.max(numClasses, maxLabel + 1);
  const build = (list: typeof rows): SetData['train'] => {
    const X = new Float32Array(list.length * D);
    const y = new Int32Array(list.length);
    const ids = new Int32Array(list.length);
    list.forEach((r, i) => {
      X.set(blobToF32(r.vector, D), i * D);
      y[i] = r.label;
      ids[i] = r.id;
    });
    return { X: { rows: list.length, cols: D, data: X }, y, ids };
  };
  return { numClasses, dim: D, fingerprint: set.fingerprint, train: build(parts.train), test: build(parts.test) };
}
