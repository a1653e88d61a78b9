import { z } from 'zod';
import { CLASSIFIER_KINDS, classifierKind } from './classifiers';
import { id, jobOf, method, seed } from './common';

export const runStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']);

export const metricsSchema = z.object({
  accuracy: z.number(),
  precision_weighted: z.number(),
  recall_weighted: z.number(),
  f1_weighted: z.number(),
  precision_macro: z.number(),
  recall_macro: z.number(),
  f1_macro: z.number(),
  confusion: z.array(z.array(z.number())),
  per_class: z.array(z.object({ precision: z.number(), recall: z.number(), f1: z.number(), support: z.number() })),
});
export type Metrics = z.infer<typeof metricsSchema>;

export const run = z.object({
  id: z.number(),
  set_id: z.number(),
  kind: z.string(),
  params: z.record(z.string(), z.unknown()),
  seed: z.number(),
  fingerprint: z.string().nullable(),
  backend: z.string().nullable(),
  status: runStatus,
  error: z.string().nullable(),
  fit_seconds: z.number().nullable(),
  predict_rows_per_sec: z.number().nullable(),
  model_bytes: z.number().nullable(),
  /** The cap on training rows it was started with (a seeded subsample); null when it used them all. */
  max_train_rows: z.number().nullable(),
  /** Training rows its train-split metrics were measured on (a seeded subsample of at most 10,000); null for older runs. */
  train_metric_rows: z.number().nullable(),
  job_id: z.string().nullable(),
  created_at: z.string(),
  finished_at: z.string().nullable(),
});
export type Run = z.infer<typeof run>;

export const epochLog = z.record(z.string(), z.number().optional());

export const runDetail = run.extend({
  metrics: z.object({ train: metricsSchema.optional(), test: metricsSchema.optional() }),
  epochs: z.array(epochLog),
});
export type RunDetail = z.infer<typeof runDetail>;

export const compareRow = z.record(z.string(), z.union([z.number(), z.string(), z.null()]));
export type CompareRow = z.infer<typeof compareRow>;

/** What a training job reports: the run's outcome (its metrics are also stored with the run). */
export const trainResult = z.object({
  runId: z.number(),
  kind: classifierKind,
  status: z.literal('done'),
  backend: z.string(),
  fitSeconds: z.number(),
  predictRowsPerSec: z.number(),
  modelBytes: z.number(),
  numClasses: z.number(),
  trainRows: z.number(),
  /** Training rows the train metrics were measured on (a seeded subsample of at most 10,000). */
  trainMetricRows: z.number(),
  testRows: z.number(),
  train: metricsSchema,
  /** null when the set has no test split. */
  test: metricsSchema.nullable(),
});
export type TrainResult = z.infer<typeof trainResult>;

/** How long a training run should take here, before it starts (null seconds: nothing measured yet). */
export const trainEstimate = z.object({
  kind: classifierKind,
  trainRows: z.number(),
  seconds: z.number().nullable(),
  /** Set when the estimate is over 30 minutes: says so and suggests a row cap. */
  warning: z.string().nullable(),
  basis: z.string(),
});
export type TrainEstimate = z.infer<typeof trainEstimate>;

/** What an experiment (or the offline demo) made: its dataset, one set per backbone, the runs. */
export const experimentResult = z.object({ datasetId: z.number(), sets: z.array(z.number()), runs: z.array(z.number()) });
export type ExperimentResult = z.infer<typeof experimentResult>;

export const trainingApi = {
  'runs.start': method(
    z
      .object({
        setId: id,
        kind: classifierKind,
        params: z.record(z.string(), z.unknown()).default({}),
        seed: seed.default(0),
        /** Train on a seeded subsample of at most this many training rows (for sets too large to fit in time). */
        maxRows: z.number().int().min(2).max(100_000_000).optional(),
      })
      .strict(),
    jobOf('train', trainResult),
    'Train a classifier on an embedding set (a job). Params are validated against the kind\'s schema.',
  ),
  'runs.estimate': method(
    z.object({ setId: id, kind: classifierKind, maxRows: z.number().int().min(2).optional() }).strict(),
    trainEstimate,
    'The estimated duration of a training run before it starts, scaled from this machine\'s finished runs of the kind.',
  ),
  'runs.list': method(z.object({ setId: id.optional() }).strict(), z.array(run), 'Runs, newest first.'),
  'runs.get': method(z.object({ id }).strict(), runDetail, 'One run with its metrics and epoch logs.'),
  'runs.compare': method(z.object({ setId: id }).strict(), z.array(compareRow), 'One row per run: train_/test_ metrics, fit seconds, predict rows/s.'),
  'runs.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Delete a run.'),
  'runs.export': method(
    z.object({ id, outDir: z.string().min(1) }).strict(),
    z.object({ metricsFile: z.string(), predictionsFile: z.string(), rows: z.number() }),
    'Write metrics.json and predictions.csv (sample_id,split,label,predicted,p_0..p_{C-1}) of a run.',
  ),
  'runs.misclassified': method(
    z
      .object({
        setId: id,
        runIds: z.array(id).min(1).max(20),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(200).default(40),
      })
      .strict(),
    z.object({
      total: z.number(),
      items: z.array(z.object({ sampleId: z.number(), label: z.number(), thumb: z.string(), predictions: z.record(z.string(), z.number()) })),
    }),
    'Test samples that at least one of the runs got wrong, with every run\'s prediction.',
  ),
  'experiment.start': method(
    z
      .object({
        datasetId: id.optional(),
        demo: z.boolean().default(false),
        backboneIds: z.array(id).max(10).default([]),
        preset: z.enum(['dinov2-eval', 'resize-224']).default('resize-224'),
        provider: z.enum(['auto', 'cpu', 'webgpu', 'cuda']).default('auto'),
        kinds: z.array(classifierKind).min(1).default([...CLASSIFIER_KINDS]),
        seed: seed.default(0),
      })
      .strict(),
    jobOf('experiment', experimentResult),
    'The whole study in one job: (demo: import Shapes-10,) embed with each backbone, train every kind.',
  ),
} as const;
