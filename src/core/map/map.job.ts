/** A 2-D UMAP of a seeded subsample of an embedding set, as a job. */
import { jobResults, labApi } from '../../shared/contract';
import { getSetRow } from '../embeddings/queries';
import { datasetLock } from '../jobs/schedule';
import { defineJob } from '../jobs/types';

export const mapJob = defineJob({
  kind: 'map',
  params: labApi['map.start'].input,
  result: jobResults.map,
  resource: 'light',
  locks: (p, db) => datasetLock(getSetRow(db, p.setId)?.dataset_id),
  label: (p) => `Map of set ${p.setId}`,
  async run(p, ctx) {
    const { computeMap } = await import('./umap');
    const m = await computeMap(ctx.db, p.setId, { n: p.n, seed: p.seed, signal: ctx.signal, onProgress: (d, t) => ctx.progress('umap', d, t) });
    return { setId: m.setId, n: m.n };
  },
});
