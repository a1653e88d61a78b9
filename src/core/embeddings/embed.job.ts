/** Embedding a dataset with a backbone into its embedding set, as a resumable job. */
import { z } from 'zod';
import { id, jobResults, labApi } from '../../shared/contract';
import { datasetLock } from '../jobs/schedule';
import { defineJob } from '../jobs/types';
import { modelsDir } from '../paths';
import { getSetRow, markSetPartial } from './queries';

const start = labApi['embeddings.start'].input;

export const embedJob = defineJob({
  kind: 'embed',
  params: z
    .object({
      setId: id,
      provider: start.shape.provider.unwrap().optional(),
      batchSize: start.shape.batchSize,
      preprocessing: start.shape.preprocessing.unwrap().optional(),
      /** "<dataset> with <backbone>", for people. */
      label: z.string().optional(),
    })
    .strict(),
  result: jobResults.embed,
  resource: 'compute',
  label: (p) => `Embed ${p.label ?? `set ${p.setId}`}`,
  exclusiveKey: (p) => `set:${p.setId}`,
  locks: (p, db) => datasetLock(getSetRow(db, p.setId)?.dataset_id),
  onInterrupted: (db, _job, p, reason) => markSetPartial(db, p.setId, reason),
  async run(p, ctx) {
    const { runEmbeddingSet } = await import('./pipeline');
    const { loadSampleRGB } = await import('../datasets/queries');
    return runEmbeddingSet(ctx.db, p.setId, {
      signal: ctx.signal,
      provider: p.provider,
      batchSize: p.batchSize,
      preprocessing: p.preprocessing,
      modelsDir: modelsDir(ctx.dataDir),
      loadImage: (sampleId) => loadSampleRGB(ctx.db, sampleId),
      onProgress: (g) => ctx.progress(g.phase, g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
    });
  },
});
