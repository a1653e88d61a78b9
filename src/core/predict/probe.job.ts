/** Trying dropped images on every trained run of a set, as a job (the uploaded files are removed after). */
import fs from 'node:fs';
import { z } from 'zod';
import { id, jobResults } from '../../shared/contract';
import { getSetRow } from '../embeddings/queries';
import { datasetLock } from '../jobs/schedule';
import { defineJob } from '../jobs/types';
import { modelsDir } from '../paths';
import { removeUpload } from '../uploads';

export const probeJob = defineJob({
  kind: 'probe',
  params: z.object({ setId: id, images: z.array(z.object({ name: z.string(), file: z.string() }).strict()).min(1) }).strict(),
  result: jobResults.probe,
  resource: 'compute',
  locks: (p, db) => datasetLock(getSetRow(db, p.setId)?.dataset_id),
  label: (p) => `Try ${p.images.length} image(s)`,
  async run(p, ctx) {
    const { runProbe } = await import('./probe');
    try {
      return await runProbe(ctx.db, p.setId, p.images, {
        modelsDir: modelsDir(ctx.dataDir),
        signal: ctx.signal,
        onProgress: (ph, d, t) => ctx.progress(ph, d, t),
      });
    } finally {
      for (const im of p.images) if (!removeUpload(ctx.dataDir, im.file)) fs.rmSync(im.file, { force: true });
    }
  },
});
