/** The misclassified-examples browser: test samples that at least one of the chosen runs got wrong. */
import type { Db } from '../db/database';
import { LabError } from '../errors';
import { thumbDataUrl } from '../thumbs';

export async function misclassified(
  db: Db,
  q: { setId: number; runIds: number[]; offset: number; limit: number },
): Promise<{ total: number; items: { sampleId: number; label: number; thumb: string; predictions: Record<string, number> }[] }> {
  for (const id of q.runIds) {
    const r = db.prepare('SELECT set_id FROM runs WHERE id = ?').get(id) as { set_id: number } | undefined;
    if (!r) throw new LabError('not_found', `Run ${id} does not exist.`);
    if (r.set_id !== q.setId) throw new LabError('invalid_input', `Run ${id} belongs to embedding set ${r.set_id}, not ${q.setId}.`);
  }
  const marks = q.runIds.map(() => '?').join(',');
  const where = `p.run_id IN (${marks}) AND p.predicted <> s.label`;
  const total = db.prepare(`SELECT COUNT(DISTINCT p.sample_id) FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE ${where}`).pluck().get(...q.runIds) as number;
  const ids = db
    .prepare(`SELECT DISTINCT p.sample_id AS id, s.label AS label FROM predictions p JOIN samples s ON s.id = p.sample_id WHERE ${where} ORDER BY p.sample_id LIMIT ? OFFSET ?`)
    .all(...q.runIds, q.limit, q.offset) as { id: number; label: number }[];
  const pred = db.prepare(`SELECT run_id, predicted FROM predictions WHERE sample_id = ? AND run_id IN (${marks})`);
  const items = [];
  for (const r of ids) {
    const predictions: Record<string, number> = {};
    for (const p of pred.all(r.id, ...q.runIds) as { run_id: number; predicted: number }[]) predictions[String(p.run_id)] = p.predicted;
    items.push({ sampleId: r.id, label: r.label, thumb: await thumbDataUrl(db, r.id), predictions });
  }
  return { total, items };
}
