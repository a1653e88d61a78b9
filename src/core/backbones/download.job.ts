/** Downloading a DINOv2 ONNX export from the catalogue, then adding it as a backbone, as one job. */
import path from 'node:path';
import { jobResults, labApi } from '../../shared/contract';
import { LabError } from '../errors';
import { defineJob } from '../jobs/types';
import { modelsDir } from '../paths';
import { findBackboneByName } from './queries';

export const backboneDownloadJob = defineJob({
  kind: 'backbone-download',
  params: labApi['backbones.download'].input,
  result: jobResults['backbone-download'],
  resource: 'light',
  label: (p) => `Download ${p.model}${p.precision === 'float16' ? ' (fp16)' : ''}`,
  async run(p, ctx) {
    const { catalogEntry } = await import('./catalog');
    const { downloadCatalogFile } = await import('./hub');
    const { addBackboneFile } = await import('./registry');
    const entry = catalogEntry(p.model);
    const file = entry?.files.find((f) => f.precision === p.precision);
    if (!entry || !file) throw new LabError('not_found', `No ${p.precision} download for ${p.model}.`);
    const name = `${entry.id}${p.precision === 'float16' ? '-fp16' : ''}`;
    const existing = findBackboneByName(ctx.db, name);
    if (existing) return { backboneId: existing.id, name, reused: true };
    const dest = path.join(modelsDir(ctx.dataDir), `${name}.onnx`);
    await downloadCatalogFile(entry.repo, file, dest, {
      label: `${entry.id} (${p.precision})`,
      signal: ctx.signal,
      onProgress: (g) => ctx.progress('downloading', g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
    });
    ctx.progress('validating', 0, 1);
    const row = await addBackboneFile(ctx.db, dest, name, { reuse: true });
    return { backboneId: row.id, name: row.name, reused: false };
  },
});
