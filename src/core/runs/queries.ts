import fs from 'node:fs';
import path from 'node:path';
import { loadClassifier } from '../classifiers/registry';
import type { Classifier, EpochLog, SavedModel } from '../classifiers/types';
import { blobToF32, f32ToBlob, nowIso, type Db } from '../db/database';
import { csvCell } from '../../shared/csv';
import { LabError } from '../errors';
import { takeRows, type Matrix } from '../math/matrix';
import { METRIC_KEYS, type ClassificationMetrics } from '../metrics/metrics';
import { selectsOnTest, validationAccuracy } from './validation';

/** Status of a run. */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed' | 'cancelled' | 'interrupted';

/** One row of the runs table, params parsed. */
export interface RunRow {
  id: number;
  set_id: number;
  kind: string;
  params: Record<string, unknown>;
  seed: number;
  fingerprint: string | null;
  backend: string | null;
  status: RunStatus;
  error: string | null;
  fit_seconds: number | null;
  predict_rows_per_sec: number | null;
  model_bytes: number | null;
  job_id: string | null;
  created_at: string;
  finished_at: string | null;
  /** The user's name and notes for the run (null until set). */
  name: string | null;
  notes: string | null;
  /** The group (label sweep) that made the run; null for ordinary runs. */
  sweep_id: number | null;
  /** When training began (null while queued, and for runs made before this was recorded). */
  started_at: string | null;
}

/** A run with its metrics per split and its epoch logs. */
export interface RunDetail extends RunRow {
  metrics: { train?: ClassificationMetrics; test?: ClassificationMetrics };
  epochs: EpochLog[];
}

/** One row of the comparison table: train_/test_ prefixed metric keys plus timings. */
export type CompareRow = {
  id: number;
  kind: string;
  status: RunStatus;
  fit_seconds: number | null;
  predict_rows_per_sec: number | null;
  model_bytes: number | null;
  backend: string | null;
  /** The fitted model's validation accuracy (null without one, or when it selected on test). */
  val_accuracy: number | null;
  /** 1 when the best epoch was chosen on the test split (excluded from best marks), else 0. */
  selected_on_test: number;
} & { [K in `${'train' | 'test'}_${(typeof METRIC_KEYS)[number]}`]: number | null };

type RawRun = Omit<RunRow, 'params'> & { params: string; provenance?: string | null };

const parseRun = (r: RawRun): RunRow => {
  const { provenance: _p, ...rest } = r;
  return { ...rest, params: JSON.parse(r.params) as Record<string, unknown> };
};

/** All runs, newest first; only those of one embedding set when setId is given. */
export function listRuns(db: Db, setId?: number): RunRow[] {
  const rows = (
    setId === undefined
      ? db.prepare('SELECT * FROM runs ORDER BY id DESC').all()
      : db.prepare('SELECT * FROM runs WHERE set_id = ? ORDER BY id DESC').all(setId)
  ) as RawRun[];
  return rows.map(parseRun);
}

/** One run with metrics and epochs; LabError('not_found') when absent. */
export function getRun(db: Db, id: number): RunDetail {
  const r = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RawRun | undefined;
  if (!r) throw new LabError('not_found', `Run ${id} does not exist.`);
  const metrics: RunDetail['metrics'] = {};
  for (const m of db.prepare('SELECT split, metrics FROM metrics WHERE run_id = ?').all(id) as { split: string; metrics: string }[]) {
    if (m.split === 'train' || m.split === 'test') metrics[m.split] = JSON.parse(m.metrics) as ClassificationMetrics;
  }
  const epochs = (db.prepare('SELECT logs FROM epochs WHERE run_id = ? ORDER BY epoch').all(id) as { logs: string }[]).map(
    (e) => JSON.parse(e.logs) as EpochLog,
  );
  return { ...parseRun(r), metrics, epochs };
}

/** One row per run of a set (oldest first), with train_* and test_* metrics, validation accuracy, fit seconds, predict rows/s, size, backend. */
export function compareRuns(db: Db, setId: number): CompareRow[] {
  const runs = db.prepare('SELECT * FROM runs WHERE set_id = ? ORDER BY id').all(setId) as RawRun[];
  const getM = db.prepare('SELECT split, metrics FROM metrics WHERE run_id = ?');
  const epochsOf = db.prepare('SELECT logs FROM epochs WHERE run_id = ? ORDER BY epoch');
  return runs.map((r) => {
    const params = JSON.parse(r.params) as Record<string, unknown>;
    const row: Record<string, unknown> = {
      id: r.id,
      kind: r.kind,
      status: r.status,
      fit_seconds: r.fit_seconds,
      predict_rows_per_sec: r.predict_rows_per_sec,
      model_bytes: r.model_bytes,
      backend: r.backend,
      val_accuracy: validationAccuracy({ kind: r.kind, params, epochs: epochsOf.all(r.id).map((e) => JSON.parse((e as { logs: string }).logs) as EpochLog) }),
      selected_on_test: selectsOnTest({ kind: r.kind, params }) ? 1 : 0,
    };
    const bySplit: Record<string, Record<string, number>> = {};
    for (const m of getM.all(r.id) as { split: string; metrics: string }[]) bySplit[m.split] = JSON.parse(m.metrics) as Record<string, number>;
    for (const split of ['train', 'test']) for (const k of METRIC_KEYS) row[`${split}_${k}`] = bySplit[split]?.[k] ?? null;
    return row as CompareRow;
  });
}

// Loaded classifiers per database, so the drop-zone does not re-parse a model for every image.
const cache = new WeakMap<Db, Map<number, Classifier<object>>>();

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
  if (a.format !== 'json') throw new LabError('bad_format', `Run ${runId}'s model is stored as '${a.format}', which this version cannot read.`);
  const saved = JSON.parse(a.data.toString('utf8')) as SavedModel;
  if (typeof saved.state.trainFromSet === 'number') {
    // A k-NN model refers to its embedding set's training vectors (see executeRun).
    const train = loadSetData(db, saved.state.trainFromSet).train.X;
    const rows = saved.state.trainRowsOfSet;
    // A label sweep's run refers to its subset's rows of the split.
    saved.state.trainVectors = Array.isArray(rows) ? takeRows(train, rows as number[]).data : train.data;
  }
  const clf = loadClassifier(saved);
  m.set(runId, clf);
  return clf;
}

/** Predicts with a finished run's model: probabilities (rows sum to 1) and labels. */
export async function predictWithRun(db: Db, runId: number, X: Matrix): Promise<{ proba: Matrix; predicted: Int32Array }> {
  const clf = loadRunClassifier(db, runId);
  const proba = await clf.predictProba(X);
  const predicted = await clf.predict(X);
  return { proba, predicted };
}

/**
 * Writes metrics.json (the run, its provenance, its params and train/test metrics) and predictions.csv
 * (`sample_id,split,label,predicted,p_0,...,p_{C-1}`, the stored test predictions) into dir.
 */
export function exportRun(db: Db, runId: number, dir: string, provenance: object | null = null): { metricsFile: string; predictionsFile: string; rows: number } {
  const run = getRun(db, runId);
  if (run.status !== 'done') throw new LabError('conflict', `Run ${runId} is '${run.status}'; only finished runs can be exported.`);
  fs.mkdirSync(dir, { recursive: true });
  const metricsFile = path.join(dir, 'metrics.json');
  const predictionsFile = path.join(dir, 'predictions.csv');
  const { epochs, metrics, ...info } = run;
  fs.writeFileSync(metricsFile, JSON.stringify({ run: info, provenance, train: metrics.train ?? null, test: metrics.test ?? null, epochs }, null, 2) + '\n');
  const rows = db
    .prepare(
      `SELECT p.sample_id AS sample_id, s.split AS split, s.label AS label, p.predicted AS predicted, p.proba AS proba
       FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE p.run_id = ? ORDER BY p.sample_id`,
    )
    .all(runId) as { sample_id: number; split: string; label: number; predicted: number; proba: Buffer }[];
  const C = rows.length ? rows[0]!.proba.byteLength / 4 : (metrics.test?.per_class.length ?? metrics.train?.per_class.length ?? 0);
  const lines = [['sample_id', 'split', 'label', 'predicted', ...Array.from({ length: C }, (_, c) => `p_${c}`)].join(',')];
  for (const r of rows) {
    const p = blobToF32(r.proba);
    lines.push([r.sample_id, csvCell(r.split), r.label, r.predicted, ...Array.from(p, (v) => String(v))].join(','));
  }
  fs.writeFileSync(predictionsFile, lines.join('\n') + '\n');
  return { metricsFile, predictionsFile, rows: rows.length };
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

/** What a new run is: its set, kind, validated params (defaults filled in) and seed. */
export interface NewRun {
  setId: number;
  kind: string;
  params: object;
  seed: number;
  jobId: string | null;
}

/** Inserts a 'queued' run; returns its id. */
export function insertRun(db: Db, r: NewRun): number {
  const info = db
    .prepare("INSERT INTO runs (set_id, kind, params, seed, status, job_id, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?)")
    .run(r.setId, r.kind, JSON.stringify(r.params), r.seed, r.jobId, nowIso());
  return Number(info.lastInsertRowid);
}

/** Records the job that trains a run. */
export function attachRunJob(db: Db, runId: number, jobId: string): void {
  db.prepare('UPDATE runs SET job_id = ? WHERE id = ?').run(jobId, runId);
}

/** Deletes a run (its epochs, metrics, predictions and artifact go with it). */
export function deleteRun(db: Db, id: number): void {
  db.prepare('DELETE FROM runs WHERE id = ?').run(id);
}

/** What executeRun reads of a run. */
export interface RunToTrain {
  id: number;
  set_id: number;
  kind: string;
  params: string;
  seed: number;
  status: string;
}

/** The run to train, or undefined when absent. */
export function getRunToTrain(db: Db, runId: number): RunToTrain | undefined {
  return db.prepare('SELECT id, set_id, kind, params, seed, status FROM runs WHERE id = ?').get(runId) as RunToTrain | undefined;
}

// Run status changes: every write of runs.status is one of the functions below.

/** A run starts training: status 'running', its start time and provenance snapshot recorded, its old epoch logs cleared. */
export function markRunRunning(db: Db, runId: number, provenance?: RunSource & { app_version: string }): void {
  db.prepare("UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, started_at = ?, provenance = COALESCE(?, provenance) WHERE id = ?").run(
    nowIso(),
    provenance ? JSON.stringify(provenance) : null,
    runId,
  );
  db.prepare('DELETE FROM epochs WHERE run_id = ?').run(runId);
}

/** A run ended without results: 'cancelled' (no error) or 'failed' with the reason. */
export function markRunEnded(db: Db, runId: number, status: 'failed' | 'cancelled', error: string | null): void {
  db.prepare('UPDATE runs SET status = ?, error = ?, finished_at = ? WHERE id = ?').run(status, error, nowIso(), runId);
}

/** A run's job stopped before it finished (its process died or the host closed): 'interrupted' with the reason. */
export function markRunInterrupted(db: Db, runId: number, reason: string): void {
  db.prepare("UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued','running')").run(reason, nowIso(), runId);
}

/** Every unfinished run of a job (an experiment) is 'interrupted' with the reason. */
export function markJobRunsInterrupted(db: Db, jobId: string, reason: string): void {
  db.prepare("UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE job_id = ? AND status IN ('queued','running')").run(reason, nowIso(), jobId);
}

/** Writes one epoch's logs of a run (replacing a previous attempt's). */
export function epochWriter(db: Db, runId: number): (log: EpochLog) => void {
  const ins = db.prepare('INSERT OR REPLACE INTO epochs (run_id, epoch, logs) VALUES (?, ?, ?)');
  return (log) => ins.run(runId, log.epoch, JSON.stringify(log));
}

/** Everything a finished run stores. */
export interface RunResults {
  train: ClassificationMetrics;
  test: ClassificationMetrics | null;
  /** Test-split probabilities and predicted labels, rows in `testIds` order (null without a test split). */
  proba: Matrix | null;
  testPred: Int32Array | null;
  testIds: Int32Array;
  artifact: Buffer;
  fingerprint: string | null;
  backend: string;
  fitSeconds: number;
  predictRowsPerSec: number;
  modelBytes: number;
}

/** Stores a run's metrics, test predictions and model and marks it 'done', in one transaction. */
export function markRunDone(db: Db, runId: number, r: RunResults): void {
  db.transaction(() => {
    const insM = db.prepare('INSERT OR REPLACE INTO metrics (run_id, split, metrics) VALUES (?, ?, ?)');
    insM.run(runId, 'train', JSON.stringify(r.train));
    if (r.test) insM.run(runId, 'test', JSON.stringify(r.test));
    db.prepare('DELETE FROM predictions WHERE run_id = ?').run(runId);
    if (r.proba && r.testPred) {
      const C = r.proba.cols;
      const insP = db.prepare('INSERT INTO predictions (run_id, sample_id, predicted, proba) VALUES (?, ?, ?, ?)');
      for (let i = 0; i < r.proba.rows; i++) {
        insP.run(runId, r.testIds[i]!, r.testPred[i]!, f32ToBlob(r.proba.data.slice(i * C, (i + 1) * C)));
      }
    }
    db.prepare("INSERT OR REPLACE INTO artifacts (run_id, format, data) VALUES (?, 'json', ?)").run(runId, r.artifact);
    db.prepare(
      `UPDATE runs SET status = 'done', error = NULL, fingerprint = ?, backend = ?, fit_seconds = ?, predict_rows_per_sec = ?,
       model_bytes = ?, finished_at = ? WHERE id = ?`,
    ).run(r.fingerprint, r.backend, r.fitSeconds, r.predictRowsPerSec, r.modelBytes, nowIso(), runId);
  })();
}

/** Marks runs left 'running' by a process that died as 'interrupted'; returns how many. Call at start-up. */
export function markInterruptedRuns(db: Db): number {
  return db
    .prepare(
      // Only runs whose job is no longer live: another DINO Lab on the same file may be training right now.
      `UPDATE runs SET status = 'interrupted', error = 'The process running this training stopped before it finished; start the run again.', finished_at = ?
       WHERE status IN ('queued','running') AND (job_id IS NULL OR job_id NOT IN (SELECT id FROM jobs WHERE status IN ('queued','running')))`,
    )
    .run(nowIso()).changes;
}

/** Where a run's vectors came from: its dataset, backbone and embedding set, as stored now. */
export interface RunSource {
  dataset: { id: number; name: string; fingerprint: string | null };
  backbone: { id: number; name: string; sha256: string | null };
  embedding_set: { id: number; preset: string; preprocessing: string | null };
}

/** The dataset, backbone and set behind an embedding set, read now; LabError('not_found') when absent. */
export function readRunSource(db: Db, setId: number): RunSource {
  const r = db
    .prepare(
      `SELECT es.id AS set_id, es.preset, es.preprocessing, d.id AS dataset_id, d.name AS dataset_name, d.fingerprint,
              b.id AS backbone_id, b.name AS backbone_name, b.sha256
       FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id JOIN backbones b ON b.id = es.backbone_id WHERE es.id = ?`,
    )
    .get(setId) as
    | { set_id: number; preset: string; preprocessing: string | null; dataset_id: number; dataset_name: string; fingerprint: string | null; backbone_id: number; backbone_name: string; sha256: string | null }
    | undefined;
  if (!r) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  return {
    dataset: { id: r.dataset_id, name: r.dataset_name, fingerprint: r.fingerprint },
    backbone: { id: r.backbone_id, name: r.backbone_name, sha256: r.sha256 },
    embedding_set: { id: r.set_id, preset: r.preset, preprocessing: r.preprocessing },
  };
}

/** A run's stored provenance snapshot (taken when training began), or null for runs made before it was recorded. */
export function readRunProvenance(db: Db, runId: number): (RunSource & { app_version: string }) | null {
  const r = db.prepare('SELECT provenance FROM runs WHERE id = ?').get(runId) as { provenance: string | null } | undefined;
  return r?.provenance ? (JSON.parse(r.provenance) as RunSource & { app_version: string }) : null;
}

/** Sets a run's name and/or notes (an empty string clears one); LabError('not_found') when absent. */
export function updateRunText(db: Db, runId: number, t: { name?: string | null; notes?: string | null }): void {
  const cur = db.prepare('SELECT name, notes FROM runs WHERE id = ?').get(runId) as { name: string | null; notes: string | null } | undefined;
  if (!cur) throw new LabError('not_found', `Run ${runId} does not exist.`);
  const name = t.name === undefined ? cur.name : t.name || null;
  const notes = t.notes === undefined ? cur.notes : t.notes || null;
  db.prepare('UPDATE runs SET name = ?, notes = ? WHERE id = ?').run(name, notes, runId);
}

/** The runs on every embedding set of a dataset (oldest first), sweep runs included; LabError('not_found') for an unknown dataset. */
export function listDatasetRunIds(db: Db, datasetId: number): { id: number; set_id: number }[] {
  if (!db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(datasetId)) throw new LabError('not_found', `Dataset ${datasetId} does not exist.`);
  return db
    .prepare('SELECT r.id, r.set_id FROM runs r JOIN embedding_sets es ON es.id = r.set_id WHERE es.dataset_id = ? ORDER BY r.id')
    .all(datasetId) as { id: number; set_id: number }[];
}

/** The finished embedding sets of a dataset, oldest first. */
export function listDatasetSetIds(db: Db, datasetId: number): number[] {
  return (db.prepare("SELECT id FROM embedding_sets WHERE dataset_id = ? AND status = 'done' ORDER BY id").all(datasetId) as { id: number }[]).map((r) => r.id);
}
