/**
 * The whole study as one job: (for the demo: import Shapes-10 and use the two baselines,) embed the
 * dataset with each backbone (reusing finished sets, resuming partial ones), then train every kind on
 * each set. Headless from `dinolab experiment`, one click from the first-run screen.
 */
import { listBackbones, ensureBuiltinBackbones, RANDOM_VIT, RAW_PIXELS } from '../backbones/registry';
import { loadSampleRGB } from '../datasets/queries';
import { importDataset } from '../datasets/import';
import { createEmbeddingSet, runEmbeddingSet } from '../embeddings/pipeline';
import { LabError, throwIfAborted } from '../errors';
import { createRun, executeRun } from '../runs/train-run';
import type { ExperimentParams } from './handlers';
import { modelsDir } from './handlers';
import type { JobContext } from './types';

/** Shapes-10 size of the offline demo: big enough to separate the classifiers, small enough to embed a random ViT on a CPU in minutes. */
export const DEMO_SIZE = { train: 1000, test: 200 };
export const DEMO_NAME = 'Shapes-10 demo';

export async function runExperiment(p: ExperimentParams, ctx: JobContext): Promise<{ datasetId: number; sets: number[]; runs: number[] }> {
  const { db } = ctx;
  let datasetId = p.datasetId;
  let backboneIds = p.backboneIds;
  if (p.demo) {
    ensureBuiltinBackbones(db, modelsDir(ctx.dataDir));
    const existing = db.prepare('SELECT id FROM datasets WHERE name = ?').get(DEMO_NAME) as { id: number } | undefined;
    if (existing) datasetId = existing.id;
    else {
      const r = await importDataset(db, { type: 'sample', name: 'shapes10', ...DEMO_SIZE }, { name: DEMO_NAME, signal: ctx.signal, onProgress: (g) => ctx.progress(`demo: ${g.phase}`, g.done, g.total) });
      datasetId = r.datasetId;
    }
    const all = listBackbones(db);
    backboneIds = [RAW_PIXELS, RANDOM_VIT].map((n) => all.find((b) => b.name === n)!.id);
  }
  if (!datasetId) throw new LabError('invalid_input', 'Choose a dataset (or the demo).');
  if (!backboneIds.length) throw new LabError('invalid_input', 'Choose at least one backbone.');
  const steps = backboneIds.length * (1 + p.kinds.length);
  let step = 0;
  const sets: number[] = [];
  const runs: number[] = [];
  for (const backboneId of backboneIds) {
    throwIfAborted(ctx.signal);
    const setId = createEmbeddingSet(db, { datasetId, backboneId, preset: p.preset });
    sets.push(setId);
    const status = (db.prepare('SELECT status FROM embedding_sets WHERE id = ?').get(setId) as { status: string }).status;
    if (status !== 'done') {
      const bName = (db.prepare('SELECT name FROM backbones WHERE id = ?').get(backboneId) as { name: string }).name;
      await runEmbeddingSet(db, setId, {
        signal: ctx.signal,
        provider: p.provider,
        modelsDir: modelsDir(ctx.dataDir),
        loadImage: (id) => loadSampleRGB(db, id),
        onProgress: (g) => ctx.progress(`embedding with ${bName} (step ${step + 1}/${steps})`, g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: g.etaSec }),
      });
    }
    step++;
    for (const kind of p.kinds) {
      throwIfAborted(ctx.signal);
      const runId = createRun(db, { setId, kind, seed: p.seed }, ctx.jobId);
      runs.push(runId);
      ctx.progress(`training ${kind} (step ${step + 1}/${steps})`, step, steps);
      await executeRun(db, runId, {
        signal: ctx.signal,
        onEpoch: (id, log) => {
          const logs: Record<string, number> = {};
          for (const [k, v] of Object.entries(log)) if (typeof v === 'number') logs[k] = v;
          ctx.epoch(id, log.epoch, logs);
        },
      });
      step++;
      ctx.progress(`trained ${kind}`, step, steps);
    }
  }
  return { datasetId, sets, runs };
}
