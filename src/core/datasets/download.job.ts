/** Downloading CIFAR-10/100 from the official site, then importing it, as one job. */
import path from 'node:path';
import { jobResults, labApi } from '../../shared/contract';
import { defineJob } from '../jobs/types';

export const downloadJob = defineJob({
  kind: 'download',
  params: labApi['datasets.download'].input,
  result: jobResults.download,
  resource: 'light',
  label: (p) => `Download ${p.which === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'}`,
  async run(p, ctx) {
    const { downloadCifar } = await import('./download-cifar');
    const { importDataset } = await import('./import');
    const file = await downloadCifar(p.which, path.join(ctx.dataDir, 'downloads'), {
      signal: ctx.signal,
      onProgress: (g) => ctx.progress('downloading', g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
    });
    return importDataset(
      ctx.db,
      { type: 'cifar', path: file, coarse: p.coarse },
      { name: p.name, signal: ctx.signal, onProgress: (g) => ctx.progress(g.phase, g.done, g.total) },
    );
  },
});
