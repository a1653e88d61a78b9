/** The misclassified-examples browser: test samples that at least one of the chosen runs got wrong. */
import type { Db } from '../db/database';
import { LabError } from '../errors';
import { getRun } from '../runs/queries';
import { thumbDataUrl } from '../thumbs';
import { countMisclassified, misclassifiedPage, runPredictionsReader } from './queries';

export async function misclassified(
  db: Db,
  q: { setId: number; runIds: number[]; offset: number; limit: number },
): Promise<{ total: number; items: { sampleId: number; label: number; thumb: string; predictions: Record<string, number> }[] }> {
  for (const id of q.runIds) {
    const r = getRun(db, id);
    if (r.set_id !== q.setId) throw new LabError('invalid_input', `Run ${id} belongs to embedding set ${r.set_id}, not ${q.setId}.`);
  }
  const total = countMisclassified(db, q.runIds);
  const ids = misclassifiedPage(db, q.runIds, q.limit, q.offset);
  const predictionsOf = runPredictionsReader(db, q.runIds);
  const items = [];
  for (const r of ids) {
    const predictions = predictionsOf(r.id);
    items.push({ sampleId: r.id, label: r.label, thumb: await thumbDataUrl(db, r.id), predictions });
  }
  return { total, items };
}
