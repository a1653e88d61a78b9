/**
 * The whole study as one job: (for the demo: import Shapes-10 and use the two baselines,) embed the
 * dataset with each backbone (reusing finished sets, resuming partial ones), then train every kind on
 * each set. Headless from `dinolab experiment`, one click from the first-run screen.
 */
import type { ExperimentResult } from '../../shared/contract';
import { getBackboneName } from '../backbones/queries';
import { listBackbones, ensureBuiltinBackbones, RANDOM_VIT, RAW_PIXELS } from '../backbones/registry';
import { findDatasetByName, loadSampleRGB } from '../datasets/queries';
import { importDataset } from '../datasets/import';
import { createEmbeddingSet, runEmbeddingSet, type EmbedProgress } from '../embeddings/pipeline';
import { getSetStatus } from '../embeddings/queries';
import { LabError, throwIfAborted } from '../errors';
import type { JobContext } from '../jobs/types';
import { modelsDir } from '../paths';
import { epochReporter } from '../runs/train.job';
import { runPlan } from '../runs/estimate';
import { RunEta } from '../runs/eta';
import { createRun, executeRun } from '../runs/train-run';
import { DEMO_NAME, DEMO_SIZE, planExperiment, type ExperimentParams } from './plan';

export { DEMO_NAME, DEMO_SIZE, type ExperimentParams } from './plan';
/**
 * The demo's out-of-distribution pair: Shapes-OOD (classes none of which is in Shapes-10), embedded with the
 * same baselines and preset, so the OOD page has something to benchmark offline. No runs are trained on it.
 */
export const DEMO_OOD_SIZE = { train: 100, test: 200 };
export const DEMO_OOD_NAME = 'Shapes-OOD demo';

export async function runExperiment(p: ExperimentParams, ctx: JobContext): Promise<ExperimentResult> {
  const { db } = ctx;
  let datasetId = p.datasetId;
  let backboneIds = p.backboneIds;
  let oodDatasetId: number | null = null;
  if (p.demo) {
    ensureBuiltinBackbones(db, modelsDir(ctx.dataDir));
    const existing = findDatasetByName(db, DEMO_NAME);
    if (existing) datasetId = existing.id;
    else {
      const r = await importDataset(db, { type: 'sample', name: 'shapes10', ...DEMO_SIZE }, { name: DEMO_NAME, signal: ctx.signal, onProgress: (g) => ctx.progress(`demo: ${g.phase}`, g.done, g.total) });
      datasetId = r.datasetId;
    }
    oodDatasetId = findDatasetByName(db, DEMO_OOD_NAME)?.id ?? 0; // imported after the study's runs (0: not yet)
    const all = listBackbones(db);
    backboneIds = [RAW_PIXELS, RANDOM_VIT].map((n) => all.find((b) => b.name === n)!.id);
  }
  if (!datasetId) throw new LabError('invalid_input', 'Choose a dataset (or the demo).');
  if (!backboneIds.length) throw new LabError('invalid_input', 'Choose at least one backbone.');
  const steps = backboneIds.length * (1 + p.kinds.length + (oodDatasetId === null ? 0 : 1));
  let step = 0;
  // The ETA: the pre-start estimate of what is left (embeddings measured here, every run), the current
  // step's part followed as it goes (the embedding's own ETA, a run's RunEta).
  const planned = planExperiment(db, { ...p, demo: false, datasetId, backboneIds });
  const runSeconds = planned.estimate.runs.map((r) => r.seconds ?? 0);
  const embedSeconds = planned.embedSeconds.map((x) => x ?? 0);
  /** Seconds of the plan after backbone b's embedding (its runs and every later backbone's). */
  const after = (b: number, run: number): number =>
    runSeconds.slice(b * p.kinds.length + run).reduce((a, x) => a + x, 0) + embedSeconds.slice(b + 1).reduce((a, x) => a + x, 0);
  /** The set of (dataset, backbone) with this experiment's preset, embedded unless it already is (a partial one resumes). */
  const embed = async (
    dsId: number,
    backboneId: number,
    phase: (backboneName: string) => string,
    etaSec: (g: EmbedProgress) => number | null,
  ): Promise<number> => {
    const setId = createEmbeddingSet(db, { datasetId: dsId, backboneId, preset: p.preset });
    if (getSetStatus(db, setId) !== 'done') {
      const label = phase(getBackboneName(db, backboneId));
      await runEmbeddingSet(db, setId, {
        signal: ctx.signal,
        provider: p.provider,
        modelsDir: modelsDir(ctx.dataDir),
        loadImage: (id) => loadSampleRGB(db, id),
        onProgress: (g) => ctx.progress(label, g.done, g.total, { ratePerSec: g.ratePerSec, etaSec: etaSec(g) }),
      });
    }
    return setId;
  };
  let b = -1;
  const sets: number[] = [];
  const runs: number[] = [];
  for (const backboneId of backboneIds) {
    b++;
    throwIfAborted(ctx.signal);
    const setId = await embed(datasetId, backboneId, (bName) => `embedding with ${bName} (step ${step + 1}/${steps})`, (g) =>
      g.done > 0 && g.ratePerSec ? g.etaSec + after(b, 0) : null,
    );
    sets.push(setId);
    step++;
    for (const [k, kind] of p.kinds.entries()) {
      throwIfAborted(ctx.signal);
      const runId = createRun(db, { setId, kind, seed: p.seed, maxRows: p.maxRows }, ctx.jobId, { checkSet: false });
      runs.push(runId);
      const eta = new RunEta(runPlan(db, runId));
      const phase = `training ${kind} (step ${step + 1}/${steps})`;
      const report = (left: number | null): void => ctx.progress(phase, step, steps, { etaSec: left === null ? null : left + after(b, k + 1) });
      report(eta.remaining('load', 0, 1));
      await executeRun(db, runId, {
        signal: ctx.signal,
        onEpoch: epochReporter(ctx),
        onProgress: (g) => report(eta.remaining(g.phase, g.done, g.total)),
      });
      step++;
      ctx.progress(`trained ${kind}`, step, steps, { etaSec: after(b, k + 1) });
    }
  }
  // The demo's OOD pair, imported and embedded last (Shapes-10 and the study's runs come first).
  if (oodDatasetId !== null) {
    if (oodDatasetId === 0) {
      oodDatasetId = (
        await importDataset(db, { type: 'sample', name: 'shapes-ood', ...DEMO_OOD_SIZE }, { name: DEMO_OOD_NAME, signal: ctx.signal, onProgress: (g) => ctx.progress(`demo OOD pair: ${g.phase}`, g.done, g.total) })
      ).datasetId;
    }
    for (const backboneId of backboneIds) {
      throwIfAborted(ctx.signal);
      await embed(oodDatasetId, backboneId, (bName) => `embedding the OOD pair with ${bName} (step ${step + 1}/${steps})`, (g) => g.etaSec);
      step++;
    }
  }
  return { datasetId, sets, runs };
}
