/** The misclassified-examples browser: test samples that at least one of the chosen runs got wrong. */
import type { Db } from '../db/database';
import { LabError } from '../errors';
import { getSet } from '../embeddings/queries';
import { getRun } from '../runs/queries';
import { thumbDataUrl } from '../thumbs';
import { countMisclassified, misclassifiedPage, runPredictionsReader } from './queries';

export async function misclassified(
  db: Db,
  q: { setId: number; runIds: number[]; offset: number; limit: number },
): Promise<{ total: number; items: { sampleId: number; label: number; thumb: string; predictions: Record<string, number> }[] }> {
  // Runs on any set of the same dataset share its samples, so they can be compared image by image.
  const datasetId = getSet(db, q.setId).datasetId;
  for (const id of q.runIds) {
    const r = getRun(db, id);
    if (r.set_id !== q.setId && getSet(db, r.set_id).datasetId !== datasetId) {
      throw new LabError('invalid_input', `Run ${id} belongs to embedding set ${r.set_id}, which is not on the same dataset as set ${q.setId}.`);
    }
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
