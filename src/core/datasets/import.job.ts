/** Importing a dataset (CIFAR archive or folder, image folder, Shapes-10) as a job; an uploaded archive is removed after. */
import { jobResults, labApi } from '../../shared/contract';
import { defineJob } from '../jobs/types';
import { removeUpload } from '../uploads';

/** The jobs drawer's line for an import: the given name, else the sample's or the path's last part. */
export function importLabel(p: { source: { type: string; path?: string }; name?: string }): string {
  const s = p.source;
  return `Import ${p.name ?? (s.type === 'sample' ? 'Shapes-10' : (s.path ?? '').split(/[\\/]/).filter(Boolean).pop())}`;
}

export const importJob = defineJob({
  kind: 'import',
  params: labApi['datasets.import'].input,
  result: jobResults.import,
  resource: 'light',
  label: importLabel,
  async run(p, ctx) {
    const { importDataset } = await import('./import');
    try {
      return await importDataset(ctx.db, p.source, { name: p.name, signal: ctx.signal, onProgress: (g) => ctx.progress(g.phase, g.done, g.total) });
    } finally {
      // An archive uploaded through the API is used once: its pixels are in the database now (or it failed).
      if (p.source.type !== 'sample') removeUpload(ctx.dataDir, p.source.path);
    }
  },
});
