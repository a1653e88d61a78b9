import { isClassifierKind, type ClassifierKind } from '../../shared/classifier-params';
import { createClassifier } from '../classifiers/registry';
import { tfBackendName } from '../classifiers/tf-backend';
import type { EpochLog, Matrix } from '../classifiers/types';
import { blobToF32, f32ToBlob, nowIso, type Db } from '../db/database';
import { LabError, throwIfAborted, toLabError } from '../errors';
import { classificationMetrics, type ClassificationMetrics } from '../metrics/metrics';

/** What to train: a classifier kind with params (defaults filled in) on an embedding set, with a seed. */
export interface TrainRequest {
  setId: number;
  kind: ClassifierKind;
  params?: Record<string, unknown>;
  seed?: number;
}

/** Hooks a job passes to executeRun: cancel, per-epoch logs, progress. */
export interface TrainCallbacks {
  signal?: AbortSignal;
  onEpoch?: (runId: number, log: EpochLog) => void;
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

/** The outcome of a finished run. */
export interface RunSummary {
  runId: number;
  kind: ClassifierKind;
  status: 'done';
  backend: string;
  fitSeconds: number;
  predictRowsPerSec: number;
  modelBytes: number;
  numClasses: number;
  trainRows: number;
  testRows: number;
  train: ClassificationMetrics;
  /** null when the set has no test split. */
  test: ClassificationMetrics | null;
}

/** Kinds whose work runs on TensorFlow.js (mlp and keras train on it; logreg and knn do their matrix products on it). */
const TFJS_BACKED: readonly string[] = ['mlp', 'keras', 'logreg', 'knn'];

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

/** Validates the request and inserts a 'queued' run; returns its id. LabError('invalid_input') on bad params. */
export function createRun(db: Db, req: TrainRequest, jobId?: string): number {
  if (!isClassifierKind(req.kind)) throw new LabError('invalid_input', `Unknown classifier "${String(req.kind)}".`);
  const seed = req.seed ?? 0;
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new LabError('invalid_input', `The seed must be an integer from 0 to 4294967295 (got ${seed}).`);
  }
  const set = db.prepare('SELECT id FROM embedding_sets WHERE id = ?').get(req.setId);
  if (!set) throw new LabError('not_found', `Embedding set ${req.setId} does not exist.`);
  // Building the classifier validates the params and fills in the defaults that are stored with the run.
  const clf = createClassifier(req.kind, req.params ?? {}, { numClasses: 2, seed });
  const info = db
    .prepare("INSERT INTO runs (set_id, kind, params, seed, status, job_id, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)")
    .run(req.setId, req.kind, JSON.stringify(clf.params), seed, jobId ?? null, nowIso());
  return Number(info.lastInsertRowid);
}

/**
 * Trains a queued run: loads the set, fits (epoch logs written as they come), measures train/test metrics,
 * stores test predictions, the saved model and timings, and marks the run 'done' ('failed' with the reason
 * on error, 'cancelled' on abort). Results are written in one transaction, so a run is never half-stored.
 */
export async function executeRun(db: Db, runId: number, cb: TrainCallbacks = {}): Promise<RunSummary> {
  const run = db.prepare('SELECT id, set_id, kind, params, seed, status FROM runs WHERE id = ?').get(runId) as
    | { id: number; set_id: number; kind: string; params: string; seed: number; status: string }
    | undefined;
  if (!run) throw new LabError('not_found', `Run ${runId} does not exist.`);
  if (run.status === 'done' || run.status === 'running') {
    throw new LabError('conflict', `Run ${runId} is already ${run.status}; start a new run to train again.`);
  }
  const setStatus = db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?');
  try {
    db.prepare("UPDATE runs SET status = 'running', error = NULL, finished_at = NULL WHERE id = ?").run(runId);
    db.prepare('DELETE FROM epochs WHERE run_id = ?').run(runId);
    cb.onProgress?.({ phase: 'load', done: 0, total: 1 });
    const data = loadSetData(db, run.set_id);
    if (data.train.X.rows === 0) throw new LabError('invalid_input', `Embedding set ${run.set_id} has no training rows.`);
    throwIfAborted(cb.signal);
    const kind = run.kind as ClassifierKind;
    const params = JSON.parse(run.params) as Record<string, unknown>;
    const clf = createClassifier(kind, params, { numClasses: data.numClasses, seed: run.seed });
    const insEpoch = db.prepare('INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?, ?, ?)');
    const selectOnTest = kind === 'mlp' && params.selectOn === 'test';
    if (selectOnTest && data.test.X.rows === 0) {
      throw new LabError('invalid_input', "selectOn 'test' needs a test split, and this set has none.");
    }
    const t0 = performance.now();
    await clf.fit(data.train.X, data.train.y, {
      signal: cb.signal,
      validation: selectOnTest ? { X: data.test.X, y: data.test.y } : undefined,
      onEpoch: (log) => {
        insEpoch.run(runId, log.epoch, JSON.stringify(log));
        cb.onEpoch?.(runId, log);
      },
      onProgress: (done, total, phase) => cb.onProgress?.({ phase, done, total }),
    });
    const fitSeconds = (performance.now() - t0) / 1000;
    throwIfAborted(cb.signal);
    cb.onProgress?.({ phase: 'evaluate', done: 0, total: 2 });
    const trainPred = await clf.predict(data.train.X);
    const train = classificationMetrics(data.train.y, trainPred, data.numClasses);
    let test: ClassificationMetrics | null = null;
    let proba: Matrix | null = null;
    let predictRowsPerSec = 0;
    const t1 = performance.now();
    if (data.test.X.rows > 0) {
      proba = await clf.predictProba(data.test.X);
      const secs = (performance.now() - t1) / 1000;
      predictRowsPerSec = data.test.X.rows / Math.max(secs, 1e-9);
    } else {
      predictRowsPerSec = data.train.X.rows / Math.max((performance.now() - t0) / 1000 - fitSeconds, 1e-9);
    }
    throwIfAborted(cb.signal);
    cb.onProgress?.({ phase: 'evaluate', done: 1, total: 2 });
    const C = data.numClasses;
    let testPred: Int32Array | null = null;
    if (proba) {
      // Labels come from predict(), not argmax(proba): for svc they differ (one-vs-one voting vs Platt
      // probabilities), and scikit-learn's metrics use predict().
      testPred = await clf.predict(data.test.X);
      test = classificationMetrics(data.test.y, testPred, C);
    }
    const saved = clf.toJSON();
    // k-NN's "model" is the training set itself: store a reference to the set's vectors instead of a
    // copy (100 MB of JSON at 50,000 x 384); the set outlives its runs (deleting it deletes them).
    let referencedBytes = 0;
    if (kind === 'knn') {
      referencedBytes = data.train.X.data.byteLength;
      delete saved.state.train;
      saved.state.trainFromSet = run.set_id;
    }
    const artifact = Buffer.from(JSON.stringify(saved));
    // A classifier that knows how it ran says so (mlp: onnxruntime or tfjs; svc: solver threads).
    const backend = (clf as { backendInfo?: string }).backendInfo ?? (TFJS_BACKED.includes(kind) ? (tfBackendName() ?? 'js') : 'js');
    db.transaction(() => {
      const insM = db.prepare('INSERT OR REPLACE INTO metrics (run_id, split, metrics) VALUES (?, ?, ?)');
      insM.run(runId, 'train', JSON.stringify(train));
      if (test) insM.run(runId, 'test', JSON.stringify(test));
      db.prepare('DELETE FROM predictions WHERE run_id = ?').run(runId);
      if (proba && testPred) {
        const insP = db.prepare('INSERT INTO predictions (run_id, sample_id, predicted, proba) VALUES (?, ?, ?, ?)');
        for (let i = 0; i < proba.rows; i++) {
          insP.run(runId, data.test.ids[i]!, testPred[i]!, f32ToBlob(proba.data.slice(i * C, (i + 1) * C)));
        }
      }
      db.prepare("INSERT OR REPLACE INTO artifacts (run_id, format, data) VALUES (?, 'json', ?)").run(runId, artifact);
      db.prepare(
        `UPDATE runs SET status = 'done', error = NULL, fingerprint = ?, backend = ?, fit_seconds = ?, predict_rows_per_sec = ?,
         model_bytes = ?, finished_at = ? WHERE id = ?`,
      ).run(data.fingerprint, backend, fitSeconds, predictRowsPerSec, artifact.byteLength + referencedBytes, nowIso(), runId);
    })();
    cb.onProgress?.({ phase: 'evaluate', done: 2, total: 2 });
    return {
      runId,
      kind,
      status: 'done',
      backend,
      fitSeconds,
      predictRowsPerSec,
      modelBytes: artifact.byteLength + referencedBytes,
      numClasses: C,
      trainRows: data.train.X.rows,
      testRows: data.test.X.rows,
      train,
      test,
    };
  } catch (err) {
    const e = cb.signal?.aborted ? new LabError('cancelled', 'Cancelled.') : toLabError(err);
    setStatus.run(e.code === 'cancelled' ? 'cancelled' : 'failed', e.code === 'cancelled' ? null : e.message, nowIso(), runId);
    throw e;
  }
}
