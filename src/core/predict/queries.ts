/** The predict feature's tables: `probes` (tried images), and its reads of `predictions` for the misclassified browser. */
import { nowIso, type Db } from '../db/database';
import { LabError } from '../errors';

/** A tried image with the results stored when it was tried. */
export interface StoredProbe {
  id: number;
  setId: number;
  name: string;
  thumb: string;
  createdAt: string;
  results: {
    ood: { similarity: number; percentile: number; unusual: boolean };
    neighbors: { sampleId: number; label: number; similarity: number }[];
    predictions: { runId: number; kind: string; predicted: number; top: { label: number; prob: number }[] }[];
    agree: boolean;
  };
}

/** A tried image as it is written: JPEG thumb, float32 embedding BLOB, results. */
export interface NewProbe {
  setId: number;
  name: string;
  sha256: string;
  thumb: Buffer;
  embedding: Buffer;
  results: StoredProbe['results'];
}

/** Stores one tried image (created now) and returns its id. */
export function insertProbe(db: Db, p: NewProbe): number {
  const info = db
    .prepare(`INSERT INTO probes (set_id, name, sha256, thumb, embedding, results, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`)
    .run(p.setId, p.name, p.sha256, p.thumb, p.embedding, JSON.stringify(p.results), nowIso());
  return Number(info.lastInsertRowid);
}

/** Every image tried on a set, newest first, with its stored results. */
export function listProbes(db: Db, setId: number): StoredProbe[] {
  const rows = db.prepare(`SELECT id, set_id, name, thumb, results, created_at FROM probes WHERE set_id = ? ORDER BY id DESC`).all(setId) as {
    id: number;
    set_id: number;
    name: string;
    thumb: Buffer | null;
    results: string;
    created_at: string;
  }[];
  return rows.map((r) => ({
    id: r.id,
    setId: r.set_id,
    name: r.name,
    thumb: r.thumb ? `data:image/jpeg;base64,${r.thumb.toString('base64')}` : '',
    createdAt: r.created_at,
    results: JSON.parse(r.results) as StoredProbe['results'],
  }));
}

/** Removes one tried image; an unknown id is a not_found error (a stale list in another window, say). */
export function deleteProbe(db: Db, id: number): void {
  const info = db.prepare(`DELETE FROM probes WHERE id = ?`).run(id);
  if (info.changes === 0) throw new LabError('not_found', `Tried image ${id} does not exist (it may have been deleted already).`);
}

const wrongWhere = (runIds: number[]): string => `p.run_id IN (${runIds.map(() => '?').join(',')}) AND p.predicted <> s.label`;

/** How many distinct samples at least one of the runs predicted wrongly. */
export function countMisclassified(db: Db, runIds: number[]): number {
  return db
    .prepare(`SELECT COUNT(DISTINCT p.sample_id) FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE ${wrongWhere(runIds)}`)
    .pluck()
    .get(...runIds) as number;
}

/** A page of those samples (by sample id) with their true label. */
export function misclassifiedPage(db: Db, runIds: number[], limit: number, offset: number): { id: number; label: number }[] {
  return db
    .prepare(
      `SELECT DISTINCT p.sample_id AS id, s.label AS label FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE ${wrongWhere(runIds)} ORDER BY p.sample_id LIMIT ? OFFSET ?`,
    )
    .all(...runIds, limit, offset) as { id: number; label: number }[];
}

/** A reader, prepared once, of what each of the runs predicted for a sample, keyed by run id. */
export function runPredictionsReader(db: Db, runIds: number[]): (sampleId: number) => Record<string, number> {
  const pred = db.prepare(`SELECT run_id, predicted FROM predictions WHERE sample_id = ? AND run_id IN (${runIds.map(() => '?').join(',')})`);
  return (sampleId) => {
    const predictions: Record<string, number> = {};
    for (const p of pred.all(sampleId, ...runIds) as { run_id: number; predicted: number }[]) predictions[String(p.run_id)] = p.predicted;
    return predictions;
  };
}
