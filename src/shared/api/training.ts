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
  /** The user's name and notes (kept in the database, shown on Compare and in exports). */
  name: z.string().nullable(),
  notes: z.string().nullable(),
  /** The group (a label sweep) that made the run; null for ordinary runs. Compare hides sweep runs by default. */
  sweep_id: z.number().nullable(),
  started_at: z.string().nullable(),
});
export type Run = z.infer<typeof run>;

/** The metric keys a study matrix can show (scikit-learn names). */
export const STUDY_METRICS = ['accuracy', 'f1_weighted', 'f1_macro', 'precision_weighted', 'recall_weighted', 'precision_macro', 'recall_macro'] as const;
export const studyMetric = z.enum(STUDY_METRICS);
export type StudyMetric = z.infer<typeof studyMetric>;

/** What produced a run's numbers: every export and `runs show` carries it. */
export const provenance = z.object({
  dataset: z.object({ id: z.number(), name: z.string(), fingerprint: z.string().nullable() }),
  backbone: z.object({ id: z.number(), name: z.string(), sha256: z.string().nullable() }),
  embedding_set: z.object({ id: z.number(), preset: z.string(), preprocessing: z.string().nullable() }),
  kind: z.string(),
  /** Every parameter, defaults filled in (as validated and stored when the run was created). */
  params: z.record(z.string(), z.unknown()),
  seed: z.number(),
  /** The engine/backend the fit actually ran on (null until the run finished). */
  backend: z.string().nullable(),
  app_version: z.string().nullable(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
  duration_seconds: z.number().nullable(),
  /** Best epoch chosen on the test split (the study's leaky recipe): excluded from "best" marks. */
  selected_on_test: z.boolean(),
  sweep_id: z.number().nullable(),
  /** The user's cap on training rows (a seeded subsample; null: every training row). */
  max_train_rows: z.number().nullable(),
  /** The training rows its train-split metrics were measured on (a seeded subsample of at most 10,000). */
  train_metric_rows: z.number().nullable(),
  /** True when dataset/backbone/set were recorded when training began; false when read now (older runs). */
  snapshot: z.boolean(),
  /** The `dinolab train ...` line that trains the same run again (same set, kind, params, seed). */
  command: z.string(),
});
export type Provenance = z.infer<typeof provenance>;

const scalarMetrics = z.object(Object.fromEntries(STUDY_METRICS.map((k) => [k, z.number()])) as Record<StudyMetric, z.ZodNumber>);

/** One run in a study: its set, kind, params, metrics on train/validation/test and its provenance. */
export const studyRun = z.object({
  id: z.number(),
  set_id: z.number(),
  name: z.string().nullable(),
  notes: z.string().nullable(),
  kind: z.string(),
  status: runStatus,
  seed: z.number(),
  params: z.record(z.string(), z.unknown()),
  backend: z.string().nullable(),
  fit_seconds: z.number().nullable(),
  predict_rows_per_sec: z.number().nullable(),
  model_bytes: z.number().nullable(),
  created_at: z.string(),
  /** Whether its kind trains in epochs (only those are drawn on an epoch axis). */
  has_epochs: z.boolean(),
  selected_on_test: z.boolean(),
  sweep_id: z.number().nullable(),
  metrics: z.object({
    train: scalarMetrics.nullable(),
    /** The fitted model's validation accuracy (held out of train); null when the kind has none or selected on test. */
    validation: z.object({ accuracy: z.number() }).nullable(),
    test: scalarMetrics.nullable(),
  }),
  provenance,
});
export type StudyRun = z.infer<typeof studyRun>;

/** One embedding set of the dataset: a column of the study matrix. */
export const studyColumn = z.object({
  set_id: z.number(),
  label: z.string(),
  backbone: z.string(),
  sha256: z.string().nullable(),
  preset: z.string(),
  preprocessing: z.string().nullable(),
});

/** A cell: the chosen run of a kind on a set and its test metric with a 95 % interval. */
export const studyCell = z.object({
  run_id: z.number(),
  value: z.number(),
  lo: z.number(),
  hi: z.number(),
  /** 'wilson' for accuracy; 'bootstrap' (percentile, over the test split's confusion counts) for the others. */
  interval: z.enum(['wilson', 'bootstrap']),
  /** Finished runs of this kind on this set; run_ids lists them, newest first. */
  count: z.number(),
  run_ids: z.array(z.number()),
  /** 'validation': the best validation score of the runs; 'newest': no validation score, the newest run. */
  chosen_by: z.enum(['validation', 'newest']),
  selected_on_test: z.boolean(),
  best_in_row: z.boolean(),
  best_in_column: z.boolean(),
});
export type StudyCell = z.infer<typeof studyCell>;

export const study = z.object({
  dataset: z.object({ id: z.number(), name: z.string(), fingerprint: z.string().nullable(), classes: z.array(z.string()) }),
  metric: studyMetric,
  columns: z.array(studyColumn),
  rows: z.array(z.object({ kind: z.string(), cells: z.array(studyCell.nullable()) })),
  /** Every run in scope (sweep runs only with includeSweeps), oldest first. */
  runs: z.array(studyRun),
  /** Runs made by label sweeps that are left out (includeSweeps false). */
  hidden_sweep_runs: z.number(),
});
export type Study = z.infer<typeof study>;

export const epochLog = z.record(z.string(), z.number().optional());

export const runDetail = run.extend({
  metrics: z.object({ train: metricsSchema.optional(), test: metricsSchema.optional() }),
  epochs: z.array(epochLog),
  provenance,
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
  'runs.study': method(
    z.object({ datasetId: id, metric: studyMetric.default('accuracy'), includeSweeps: z.boolean().default(false) }).strict(),
    study,
    'Every run on every embedding set of a dataset: the study matrix (kinds x sets, best by validation, 95 % intervals) and each run with its provenance.',
  ),
  'runs.update': method(
    z.object({ id, name: z.string().max(200).nullable().optional(), notes: z.string().max(10_000).nullable().optional() }).strict(),
    run,
    'Rename a run or edit its notes (empty or null clears).',
  ),
  'runs.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Delete a run.'),
  'runs.export': method(
    z.object({ id, outDir: z.string().min(1) }).strict(),
    z.object({ metricsFile: z.string(), predictionsFile: z.string(), rows: z.number() }),
    'Write metrics.json and predictions.csv (sample_id,split,label,predicted,p_0..p_{C-1}) of a run.',
  ),
  'runs.exportModel': method(
    z
      .object({
        id,
        /** The .onnx file to write (the full model, or the head with headOnly); absent without webDir: <data dir>/exports/run-<id>.onnx. */
        out: z.string().min(1).optional(),
        headOnly: z.boolean().default(false),
        /** A folder for the web demo: index.html, model.onnx and onnxruntime-web's files. */
        webDir: z.string().min(1).optional(),
      })
      .strict(),
    z.object({
      file: z.string(),
      bytes: z.number(),
      extraFiles: z.array(z.string()),
      input: z.object({ name: z.string(), type: z.enum(['uint8', 'float32']), shape: z.array(z.union([z.number(), z.string()])) }),
      outputs: z.array(z.string()),
      classes: z.array(z.string()),
      kind: z.string(),
      seconds: z.number(),
      notes: z.array(z.string()),
      web: z.object({ dir: z.string(), index: z.string(), files: z.array(z.string()) }).nullable(),
    }),
    'Export a finished run as one ONNX model (backbone + preprocessing + head; or the head alone) and/or a web demo folder.',
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
