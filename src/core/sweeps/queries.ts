/** SQL of the label-efficiency sweeps (tables `sweeps`, `sweep_runs`; runs.sweep_id). */
import { nowIso, type Db } from '../db/database';
import { LabError } from '../errors';

export type SweepStatus = 'queued' | 'running' | 'done' | 'cancelled' | 'failed' | 'interrupted';

export interface SweepRow {
  id: number;
  set_id: number;
  kinds: string;
  sizes: string;
  repeats: number;
  seed: number;
  status: SweepStatus;
  job_id: string | null;
  error: string | null;
  created_at: string;
}

export interface SweepRunRow {
  sweep_id: number;
  size_index: number;
  repeat: number;
  kind: string;
  run_id: number;
  train_rows: number;
  min_per_class: number;
  note: string | null;
  status: string;
  test_metrics: string | null;
}

export function insertSweep(db: Db, s: { setId: number; kinds: string[]; sizes: { mode: string; values: number[] }; repeats: number; seed: number }): number {
  return Number(
    db
      .prepare("INSERT INTO sweeps (set_id, kinds, sizes, repeats, seed, status, created_at) VALUES (?, ?, ?, ?, ?, 'queued', ?)")
      .run(s.setId, JSON.stringify(s.kinds), JSON.stringify(s.sizes), s.repeats, s.seed, nowIso()).lastInsertRowid,
  );
}

export function getSweepRow(db: Db, id: number): SweepRow {
  const r = db.prepare('SELECT * FROM sweeps WHERE id = ?').get(id) as SweepRow | undefined;
  if (!r) throw new LabError('not_found', `Sweep ${id} does not exist.`);
  return r;
}

export function listSweepRows(db: Db, f: { datasetId?: number; setId?: number }): SweepRow[] {
  return db
    .prepare(
      `SELECT sw.* FROM sweeps sw JOIN embedding_sets es ON es.id = sw.set_id
       WHERE (? IS NULL OR es.dataset_id = ?) AND (? IS NULL OR sw.set_id = ?) ORDER BY sw.id`,
    )
    .all(f.datasetId ?? null, f.datasetId ?? null, f.setId ?? null, f.setId ?? null) as SweepRow[];
}

export function setSweepStatus(db: Db, id: number, status: SweepStatus, error: string | null = null): void {
  db.prepare('UPDATE sweeps SET status = ?, error = ? WHERE id = ?').run(status, error, id);
}

export function setSweepJob(db: Db, id: number, jobId: string): void {
  db.prepare("UPDATE sweeps SET job_id = ?, status = 'queued', error = NULL WHERE id = ?").run(jobId, id);
}

/** The sweep's cells with their run's status and test metrics (JSON), in cell order. */
export function listSweepRuns(db: Db, sweepId: number): SweepRunRow[] {
  return db
    .prepare(
      `SELECT sr.*, r.status AS status, m.metrics AS test_metrics FROM sweep_runs sr JOIN runs r ON r.id = sr.run_id
       LEFT JOIN metrics m ON m.run_id = sr.run_id AND m.split = 'test'
       WHERE sr.sweep_id = ? ORDER BY sr.size_index, sr.repeat, sr.kind`,
    )
    .all(sweepId) as SweepRunRow[];
}

/**
 * Files a queued run under a sweep cell (replacing a cell's unfinished run, which is deleted) and groups it.
 * BEGIN IMMEDIATE: it reads, then writes, in a job process while the host writes the job's progress; a
 * deferred transaction whose snapshot went stale in between fails at once with "database is locked"
 * (SQLITE_BUSY_SNAPSHOT, no busy wait), while an immediate one waits for the lock (concurrent-writes.test.ts).
 */
export function attachSweepRun(db: Db, c: { sweepId: number; sizeIndex: number; repeat: number; kind: string; runId: number; trainRows: number; minPerClass: number; note: string | null }): void {
  db.transaction(() => {
    const old = db.prepare('SELECT run_id FROM sweep_runs WHERE sweep_id = ? AND size_index = ? AND repeat = ? AND kind = ?').get(c.sweepId, c.sizeIndex, c.repeat, c.kind) as { run_id: number } | undefined;
    if (old) db.prepare('DELETE FROM runs WHERE id = ?').run(old.run_id);
    db.prepare('UPDATE runs SET sweep_id = ?, notes = COALESCE(?, notes) WHERE id = ?').run(c.sweepId, c.note, c.runId);
    db.prepare('INSERT OR REPLACE INTO sweep_runs (sweep_id, size_index, repeat, kind, run_id, train_rows, min_per_class, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
      c.sweepId,
      c.sizeIndex,
      c.repeat,
      c.kind,
      c.runId,
      c.trainRows,
      c.minPerClass,
      c.note,
    );
  }).immediate();
}

/** Marks a dead sweep job's sweep interrupted (resumable). */
export function markSweepInterrupted(db: Db, id: number, reason: string): void {
  db.prepare("UPDATE sweeps SET status = 'interrupted', error = ? WHERE id = ? AND status IN ('queued', 'running')").run(reason, id);
}

/** The number of classes of a set's dataset (its class list, else its largest label + 1). */
export function classCount(db: Db, setId: number): number {
  const r = db.prepare('SELECT d.id AS id, d.classes AS classes FROM embedding_sets es JOIN datasets d ON d.id = es.dataset_id WHERE es.id = ?').get(setId) as { id: number; classes: string } | undefined;
  if (!r) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  let n = 0;
  try {
    const c = JSON.parse(r.classes) as unknown;
    if (Array.isArray(c)) n = c.length;
  } catch {
    /* the labels say */
  }
  const max = db.prepare('SELECT MAX(label) FROM samples WHERE dataset_id = ?').pluck().get(r.id) as number | null;
  return Math.max(n, (max ?? -1) + 1, 1);
}

/** Deletes a sweep (its runs stay, ungrouped cells go with it). */
export function deleteSweep(db: Db, id: number): void {
  db.prepare('DELETE FROM sweeps WHERE id = ?').run(id);
}
