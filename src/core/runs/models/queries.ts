/**
 * A run's stored model (tables artifacts and artifact_chunks): a JSON header plus binary arrays in chunks
 * (migration 5), or one JSON text for runs saved before; loaded classifiers are cached per connection.
 */
import { allocArray, arraySpecs, decodeModel, type EncodedModel, type ModelArray } from '../../classifiers/model-codec';
import { loadClassifier } from '../../classifiers/registry';
import type { Classifier, SavedModel } from '../../classifiers/types';
import type { Db } from '../../db/database';
import { loadSetMatrix } from '../../embeddings/queries';
import { LabError } from '../../errors';
import { takeRows, type Matrix } from '../../math/matrix';

// Loaded classifiers per database, so the drop-zone does not re-parse a model for every image.
const cache = new WeakMap<Db, Map<number, Classifier<object>>>();

/** Forgets the loaded classifiers of a database (the next use reads them from the file again). */
export function clearModelCache(db: Db): void {
  cache.delete(db);
}

/** The fitted classifier of a finished run, loaded from its artifact (cached per database connection). */
export function loadRunClassifier(db: Db, runId: number): Classifier<object> {
  let m = cache.get(db);
  if (!m) cache.set(db, (m = new Map()));
  const hit = m.get(runId);
  if (hit) return hit;
  const a = db.prepare('SELECT format, data FROM artifacts WHERE run_id = ?').get(runId) as { format: string; data: Buffer } | undefined;
  if (!a) {
    const r = db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string } | undefined;
    if (!r) throw new LabError('not_found', `Run ${runId} does not exist.`);
    throw new LabError('conflict', `Run ${runId} is '${r.status}' and has no trained model; only finished runs can predict.`);
  }
  const saved = readArtifact(db, runId, a);
  if (typeof saved.state.trainFromSet === 'number') {
    // A k-NN model refers to its embedding set's training vectors (see executeRun): only the training
    // split is read, in sample-id order as it was fitted.
    const train = loadSetMatrix(db, saved.state.trainFromSet, 'train');
    const ids = saved.state.trainSampleIds;
    if (ids instanceof Int32Array) {
      // Trained on a capped subsample: its rows, by sample id, in the order it was fitted on.
      const row = new Map<number, number>();
      train.sampleIds.forEach((id, i) => row.set(id, i));
      const idx = Array.from(ids, (id) => {
        const r = row.get(id);
        if (r === undefined) throw new LabError('db_corrupt', `Run ${runId}'s model refers to training sample ${id}, which its set no longer has.`);
        return r;
      });
      saved.state.trainVectors = takeRows(train.X, idx).data;
    } else {
      saved.state.trainVectors = train.X.data;
    }
  }
  const clf = loadClassifier(saved);
  m.set(runId, clf);
  return clf;
}

/**
 * Bytes per stored chunk of a model's array: SQLite refuses a value over 1 GB (SQLITE_MAX_LENGTH), and a
 * chunk is what one read or write holds in memory besides the array itself.
 */
let artifactChunkBytes = 64 * 1024 * 1024;

/** Sets the chunk size of model arrays written from now on (tests force it small); returns the previous one. */
export function setArtifactChunkBytes(bytes: number): number {
  if (!Number.isInteger(bytes) || bytes < 4 || bytes % 4 !== 0) throw new Error(`Chunk size must be a positive multiple of 4 bytes (got ${bytes}).`);
  const prev = artifactChunkBytes;
  artifactChunkBytes = bytes;
  return prev;
}

/** Writes a run's model: its header in artifacts ('bin1'), each array in chunks (views, no copies). */
export function writeArtifact(db: Db, runId: number, model: EncodedModel): void {
  db.prepare('DELETE FROM artifact_chunks WHERE run_id = ?').run(runId);
  db.prepare("INSERT OR REPLACE INTO artifacts (run_id, format, data) VALUES (?, 'bin1', ?)").run(runId, model.header);
  const ins = db.prepare('INSERT INTO artifact_chunks (run_id, array_idx, chunk_idx, data) VALUES (?, ?, ?, ?)');
  model.arrays.forEach((arr, i) => {
    const bytes = Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength);
    let chunk = 0;
    for (let off = 0; off < bytes.byteLength || chunk === 0; off += artifactChunkBytes) {
      ins.run(runId, i, chunk++, bytes.subarray(off, Math.min(off + artifactChunkBytes, bytes.byteLength)));
    }
  });
}

/** A run's saved model as stored ('bin1': header and chunked arrays; 'json': written before migration 5). */
export function readArtifact(db: Db, runId: number, a: { format: string; data: Buffer }): SavedModel {
  if (a.format === 'bin1') return decodeModel(a.data, readArtifactArrays(db, runId, a.data));
  // Runs trained before binary storage (migration 5): one JSON text with base64 arrays, read as it is.
  if (a.format === 'json') return JSON.parse(a.data.toString('utf8')) as SavedModel;
  throw new LabError('bad_format', `Run ${runId}'s model is stored as '${a.format}', which this version cannot read.`);
}

/** Reads a 'bin1' model's arrays: each allocated once from the header's lengths, filled chunk by chunk. */
function readArtifactArrays(db: Db, runId: number, header: Buffer): ModelArray[] {
  const specs = arraySpecs(header);
  const sel = db.prepare('SELECT chunk_idx, data FROM artifact_chunks WHERE run_id = ? AND array_idx = ? ORDER BY chunk_idx');
  return specs.map((spec, i) => {
    const arr = allocArray(spec);
    const dst = new Uint8Array(arr.buffer);
    let off = 0;
    let expected = 0;
    for (const row of sel.iterate(runId, i) as IterableIterator<{ chunk_idx: number; data: Buffer }>) {
      if (row.chunk_idx !== expected++ || off + row.data.byteLength > dst.byteLength) {
        throw new LabError('db_corrupt', `Run ${runId}'s model: array ${i} has a missing or oversized chunk ${row.chunk_idx}.`);
      }
      dst.set(row.data, off);
      off += row.data.byteLength;
    }
    if (off !== dst.byteLength) {
      throw new LabError('db_corrupt', `Run ${runId}'s model: array ${i} holds ${off} of its ${dst.byteLength} bytes.`);
    }
    return arr;
  });
}

/** Predicts with a finished run's model: probabilities (rows sum to 1) and labels. */
export async function predictWithRun(db: Db, runId: number, X: Matrix): Promise<{ proba: Matrix; predicted: Int32Array }> {
  const clf = loadRunClassifier(db, runId);
  const proba = await clf.predictProba(X);
  const predicted = await clf.predict(X);
  return { proba, predicted };
}
