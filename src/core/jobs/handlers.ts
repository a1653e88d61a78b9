/**
 * The code of each job kind, run inside the job process. Heavy modules are imported lazily so a job
 * process loads only what its kind needs (TensorFlow.js, onnxruntime, sharp).
 */
import fs from 'node:fs';
import path from 'node:path';
import type { ImportSourceInput } from '../../shared/contract';
import type { ClassifierKind } from '../../shared/classifier-params';
import { LabError } from '../errors';
import type { JobContext, JobHandler, JobKind } from './types';
import { selftestJob } from './selftest';

export const modelsDir = (dataDir: string): string => path.join(dataDir, 'models');

const importJob: JobHandler = async (params, ctx) => {
  const p = params as { source: ImportSourceInput; name?: string };
  const { importDataset } = await import('../datasets/import');
  return importDataset(ctx.db, p.source, { name: p.name, signal: ctx.signal, onProgress: (g) => ctx.progress(g.phase, g.done, g.total) });
};

const downloadJob: JobHandler = async (params, ctx) => {
  const p = params as { which: 'cifar10' | 'cifar100'; coarse?: boolean; name?: string };
  const { downloadCifar } = await import('../datasets/download-cifar');
  const { importDataset } = await import('../datasets/import');
  const file = await downloadCifar(p.which, path.join(ctx.dataDir, 'downloads'), {
    signal: ctx.signal,
    onProgress: (g) => ctx.progress('downloading', g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
  });
  return importDataset(ctx.db, { type: 'cifar', path: file, coarse: p.coarse }, { name: p.name, signal: ctx.signal, onProgress: (g) => ctx.progress(g.phase, g.done, g.total) });
};

const backboneDownloadJob: JobHandler = async (params, ctx) => {
  const p = params as { model: string; precision: 'float32' | 'float16' };
  const { catalogEntry } = await import('../backbones/catalog');
  const { downloadFile } = await import('../net/download');
  const { addBackboneFile } = await import('../backbones/registry');
  const entry = catalogEntry(p.model);
  const file = entry?.files.find((f) => f.precision === p.precision);
  if (!entry || !file) throw new LabError('not_found', `No ${p.precision} download for ${p.model}.`);
  const name = `${entry.id}${p.precision === 'float16' ? '-fp16' : ''}`;
  const existing = ctx.db.prepare('SELECT id FROM backbones WHERE name = ?').get(name) as { id: number } | undefined;
  if (existing) return { backboneId: existing.id, name, reused: true };
  const dest = path.join(modelsDir(ctx.dataDir), `${name}.onnx`);
  await downloadFile(file.url, dest, {
    signal: ctx.signal,
    onProgress: (g) => ctx.progress('downloading', g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
    offlineAdvice: `Without internet access: download ${file.url} on another computer and add it with Backbones > Add a file, or \`dinolab backbones add model.onnx\`.`,
  });
  ctx.progress('validating', 0, 1);
  const row = await addBackboneFile(ctx.db, dest, name);
  return { backboneId: row.id, name: row.name, reused: false };
};

const embedJob: JobHandler = async (params, ctx) => {
  const p = params as { setId: number; provider?: string; batchSize?: number; preprocessing?: 'auto' | 'graph' | 'js' };
  const { runEmbeddingSet } = await import('../embeddings/pipeline');
  const { loadSampleRGB } = await import('../datasets/queries');
  return runEmbeddingSet(ctx.db, p.setId, {
    signal: ctx.signal,
    provider: p.provider,
    batchSize: p.batchSize,
    preprocessing: p.preprocessing,
    modelsDir: modelsDir(ctx.dataDir),
    loadImage: (id) => loadSampleRGB(ctx.db, id),
    onProgress: (g) => ctx.progress(g.phase, g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
  });
};

const trainJob: JobHandler = async (params, ctx) => {
  const p = params as { runId: number };
  const { executeRun } = await import('../runs/train-run');
  return executeRun(ctx.db, p.runId, {
    signal: ctx.signal,
    onEpoch: (runId, log) => {
      const logs: Record<string, number> = {};
      for (const [k, v] of Object.entries(log)) if (typeof v === 'number') logs[k] = v;
      ctx.epoch(runId, log.epoch, logs);
    },
    onProgress: (g) => ctx.progress(g.phase, g.done, g.total),
  });
};

const probeJob: JobHandler = async (params, ctx) => {
  const p = params as { setId: number; images: { name: string; file: string }[] };
  const { runProbe } = await import('../predict/probe');
  try {
    return await runProbe(ctx.db, p.setId, p.images, { modelsDir: modelsDir(ctx.dataDir), signal: ctx.signal, onProgress: (ph, d, t) => ctx.progress(ph, d, t) });
  } finally {
    for (const im of p.images) fs.rmSync(im.file, { force: true });
  }
};

const mapJob: JobHandler = async (params, ctx) => {
  const p = params as { setId: number; n: number; seed: number };
  const { computeMap } = await import('../map/umap');
  const m = await computeMap(ctx.db, p.setId, { n: p.n, seed: p.seed, signal: ctx.signal, onProgress: (d, t) => ctx.progress('umap', d, t) });
  return { setId: m.setId, n: m.n };
};

const experimentJob: JobHandler = async (params, ctx) => {
  const { runExperiment } = await import('./experiment');
  return runExperiment(params as ExperimentParams, ctx);
};

export interface ExperimentParams {
  datasetId?: number;
  demo: boolean;
  backboneIds: number[];
  preset: 'dinov2-eval' | 'resize-224';
  provider: 'auto' | 'cpu' | 'webgpu' | 'cuda';
  kinds: ClassifierKind[];
  seed: number;
}

export type { JobContext };

export const jobHandlers: Partial<Record<JobKind, JobHandler>> = {
  selftest: selftestJob,
  import: importJob,
  download: downloadJob,
  'backbone-download': backboneDownloadJob,
  embed: embedJob,
  train: trainJob,
  probe: probeJob,
  map: mapJob,
  experiment: experimentJob,
};
