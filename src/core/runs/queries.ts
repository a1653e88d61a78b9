import fs from 'node:fs';
import path from 'node:path';
import type { EncodedModel } from '../classifiers/model-codec';
import type { EpochLog } from '../classifiers/types';
import { blobToF32, f32ToBlob, nowIso, type Db } from '../db/database';
import { csvCell } from '../../shared/csv';
import { LabError } from '../errors';
import type { Matrix } from '../math/matrix';
import { METRIC_KEYS, type ClassificationMetrics } from '../metrics/metrics';
import { writeArtifact } from './models/queries';
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
  /** The cap on training rows it was started with (a seeded subsample); null when uncapped. */
  max_train_rows: number | null;
  /** Training rows its train-split metrics were measured on (a seeded subsample); null before migration 5. */
  train_metric_rows: number | null;
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
  train_metric_rows: number | null;
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
      train_metric_rows: r.train_metric_rows,
    };
    const bySplit: Record<string, Record<string, number>> = {};
    for (const m of getM.all(r.id) as { split: string; metrics: string }[]) bySplit[m.split] = JSON.parse(m.metrics) as Record<string, number>;
    for (const split of ['train', 'test']) for (const k of METRIC_KEYS) row[`${split}_${k}`] = bySplit[split]?.[k] ?? null;
    return row as CompareRow;
  });
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

/** A finished run's measured rates with its set's size: what an estimate scales from. */
export interface MeasuredRun {
  kind: string;
  trainRows: number;
  testRows: number;
  dim: number;
  fitSeconds: number;
  predictRowsPerSec: number;
  trainMetricRows: number | null;
}

/** The newest finished runs of a kind on this database (this machine's measured rates), newest first. */
export function measuredRuns(db: Db, kind: string, limit = 5): MeasuredRun[] {
  return db
    .prepare(
      `SELECT r.kind AS kind, es.dim AS dim, r.fit_seconds AS fitSeconds, r.predict_rows_per_sec AS predictRowsPerSec,
              r.train_metric_rows AS trainMetricRows,
              (SELECT count(*) FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = r.set_id AND s.split = 'train') AS trainRows,
              (SELECT count(*) FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = r.set_id AND s.split = 'test') AS testRows
       FROM runs r JOIN embedding_sets es ON es.id = r.set_id
       WHERE r.kind = ? AND r.status = 'done' AND r.fit_seconds IS NOT NULL AND r.predict_rows_per_sec > 0
       ORDER BY r.id DESC LIMIT ?`,
    )
    .all(kind, limit) as MeasuredRun[];
}

/** The train/test row counts and dim of an embedding set. */
export function setSize(db: Db, setId: number): { trainRows: number; testRows: number; dim: number } | undefined {
  return db
    .prepare(
      `SELECT es.dim AS dim,
              (SELECT count(*) FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = es.id AND s.split = 'train') AS trainRows,
              (SELECT count(*) FROM embeddings e JOIN samples s ON s.id = e.sample_id WHERE e.set_id = es.id AND s.split = 'test') AS testRows
       FROM embedding_sets es WHERE es.id = ?`,
    )
    .get(setId) as { trainRows: number; testRows: number; dim: number } | undefined;
}

/** What a new run is: its set, kind, validated params (defaults filled in) and seed. */
export interface NewRun {
  setId: number;
  kind: string;
  params: object;
  seed: number;
  jobId: string | null;
  maxRows?: number | null;
}

/** Inserts a 'queued' run; returns its id. */
export function insertRun(db: Db, r: NewRun): number {
  const info = db
    .prepare("INSERT INTO runs (set_id, kind, params, seed, status, job_id, max_train_rows, created_at) VALUES (?, ?, ?, ?, 'queued', ?, ?, ?)")
    .run(r.setId, r.kind, JSON.stringify(r.params), r.seed, r.jobId, r.maxRows ?? null, nowIso());
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
  max_train_rows: number | null;
}

/** The run to train, or undefined when absent. */
export function getRunToTrain(db: Db, runId: number): RunToTrain | undefined {
  return db.prepare('SELECT id, set_id, kind, params, seed, status, max_train_rows FROM runs WHERE id = ?').get(runId) as RunToTrain | undefined;
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
  model: EncodedModel;
  /** Rows the train-split metrics were measured on (a seeded subsample of the training split). */
  trainMetricRows: number;
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
    writeArtifact(db, runId, r.model);
    db.prepare(
      `UPDATE runs SET status = 'done', error = NULL, fingerprint = ?, backend = ?, fit_seconds = ?, predict_rows_per_sec = ?,
       model_bytes = ?, train_metric_rows = ?, finished_at = ? WHERE id = ?`,
    ).run(r.fingerprint, r.backend, r.fitSeconds, r.predictRowsPerSec, r.modelBytes, r.trainMetricRows, nowIso(), runId);
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
