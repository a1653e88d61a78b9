/**
 * What an experiment will do, known before it starts: per backbone, the set it embeds into (its size: the
 * dataset's splits, the backbone's dim) and the runs it trains. `experiment.estimate` sums the runs'
 * estimates (runs/estimate.ts) and says what the embedding still to do takes, from this machine's last
 * rate with the backbone where it has one.
 */
import type { z } from 'zod';
import type { ExperimentEstimate, labApi } from '../../shared/contract';
import { findBackboneByName, getBackbone } from '../backbones/queries';
import { RANDOM_VIT, RAW_PIXELS } from '../backbones/registry';
import { findDatasetByName, getDataset } from '../datasets/queries';
import type { Db } from '../db/database';
import { findSet, lastEmbedRate } from '../embeddings/queries';
import { LabError } from '../errors';
import { estimatePlan, type PlannedRun } from '../runs/estimate';

/** What an experiment is started with: the contract's `experiment.start` input, defaults filled in. */
export type ExperimentParams = z.output<(typeof labApi)['experiment.start']['input']>;

/** Shapes-10 size of the offline demo: big enough to separate the classifiers, small enough to embed a random ViT on a CPU in minutes. */
export const DEMO_SIZE = { train: 1000, test: 200 };
export const DEMO_NAME = 'Shapes-10 demo';

/** The estimate of an experiment with these params: its runs' sum, and the embedding still to do in notes (added when measured here). */
export function estimateExperiment(db: Db, p: ExperimentParams): ExperimentEstimate {
  return planExperiment(db, p).estimate;
}

/**
 * The estimate with its parts in the order the job does them: per backbone, the embedding still to do
 * (seconds, null when not measured here) and then its runs (the estimate's `runs`, kinds in order).
 */
export function planExperiment(db: Db, p: ExperimentParams): { estimate: ExperimentEstimate; embedSeconds: (number | null)[] } {
  let rows: { train: number; test: number };
  let datasetId: number | undefined = p.datasetId;
  let backboneIds = p.backboneIds;
  if (p.demo) {
    datasetId = findDatasetByName(db, DEMO_NAME)?.id;
    rows = datasetId ? getDataset(db, datasetId).counts : DEMO_SIZE;
    backboneIds = [RAW_PIXELS, RANDOM_VIT].flatMap((n) => findBackboneByName(db, n)?.id ?? []);
  } else {
    if (!datasetId) throw new LabError('invalid_input', 'Choose a dataset (or the demo).');
    rows = getDataset(db, datasetId).counts;
  }
  if (!backboneIds.length) throw new LabError('invalid_input', 'Choose at least one backbone.');
  const plan: PlannedRun[] = [];
  const notes: string[] = [];
  const embeds: (number | null)[] = [];
  for (const backboneId of backboneIds) {
    const b = getBackbone(db, backboneId);
    const set = datasetId === undefined ? undefined : findSet(db, { datasetId, backboneId, preset: p.preset });
    const images = rows.train + rows.test;
    const todo = set?.status === 'done' ? 0 : images - (set?.vectors ?? 0);
    embeds.push(0);
    if (todo > 0) {
      const rate = lastEmbedRate(db, backboneId);
      embeds[embeds.length - 1] = rate ? todo / rate : null;
      if (rate) {
        notes.push(`Embedding ${todo.toLocaleString('en-US')} images with ${b.name}: about ${Math.ceil(todo / rate)} s at this machine's last rate (${rate.toFixed(1)} images/s), included.`);
      } else {
        notes.push(`Embedding ${todo.toLocaleString('en-US')} images with ${b.name} is not included: nothing has been embedded with it on this machine yet.`);
      }
    }
    for (const kind of p.kinds) plan.push({ setLabel: b.name, size: { trainRows: rows.train, testRows: rows.test, dim: b.dim }, kind });
  }
  const e = estimatePlan(db, plan, p.maxRows, notes);
  const embedSeconds = embeds.reduce<number>((a, x) => a + (x ?? 0), 0);
  return {
    estimate: { ...e, seconds: e.seconds === null ? null : e.seconds + embedSeconds, knownSeconds: e.knownSeconds + embedSeconds },
    embedSeconds: embeds,
  };
}
