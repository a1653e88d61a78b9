import { z } from 'zod';
import { classifierKind } from './classifiers';
import { id, jobOf, method, seed } from './common';

/** What a sweep job did: runs trained now, kept from before (resumed), failed. */
export const sweepJobResult = z.object({ sweepId: z.number(), trained: z.number(), kept: z.number(), failed: z.number(), total: z.number() });

const meanStd = z.object({ mean: z.number(), std: z.number() });

/** A label-efficiency sweep with its runs and, per kind and size, mean and standard deviation over repeats. */
export const sweepInfo = z.object({
  id: z.number(),
  setId: z.number(),
  datasetId: z.number(),
  /** The set as Compare names it: backbone · preset. */
  setLabel: z.string(),
  kinds: z.array(classifierKind),
  mode: z.enum(['fraction', 'per_class']),
  sizes: z.array(z.number()),
  repeats: z.number(),
  seed: z.number(),
  numClasses: z.number(),
  status: z.enum(['queued', 'running', 'done', 'cancelled', 'failed', 'interrupted']),
  jobId: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
  /** Cells finished (a done run) out of sizes x repeats x kinds. */
  done: z.number(),
  total: z.number(),
  /** Per kind and size: labelled training images per class (mean over classes), runs done, test accuracy and weighted F1 (mean, sample std). */
  points: z.array(
    z.object({ kind: classifierKind, sizeIndex: z.number(), size: z.number(), perClass: z.number(), runs: z.number(), accuracy: meanStd, f1_weighted: meanStd, notes: z.array(z.string()) }),
  ),
  runs: z.array(
    z.object({ runId: z.number(), kind: classifierKind, sizeIndex: z.number(), repeat: z.number(), status: z.string(), trainRows: z.number(), minPerClass: z.number(), note: z.string().nullable() }),
  ),
});
export type SweepInfo = z.infer<typeof sweepInfo>;

export const DEFAULT_SWEEP_FRACTIONS = [0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1] as const;

export const sweepsApi = {
  'sweeps.start': method(
    z
      .object({
        setId: id,
        kinds: z.array(classifierKind).min(1).default(['logreg', 'knn', 'mlp']),
        fractions: z.array(z.number().gt(0).max(1)).min(1).max(50).optional(),
        perClass: z.array(z.number().int().min(1)).min(1).max(50).optional(),
        repeats: z.number().int().min(1).max(100).default(3),
        seed: seed.default(0),
      })
      .strict(),
    jobOf('sweep', sweepJobResult),
    'Label efficiency: train each kind on seeded stratified subsets (fractions or images per class) x repeats, as one job; its runs are grouped under the sweep.',
  ),
  'sweeps.resume': method(z.object({ id }).strict(), jobOf('sweep', sweepJobResult), 'Resume a cancelled or interrupted sweep: finished runs are kept, the rest are trained.'),
  'sweeps.list': method(z.object({ datasetId: id.optional(), setId: id.optional() }).strict(), z.array(sweepInfo), 'Sweeps, oldest first, with their per-size results.'),
  'sweeps.get': method(z.object({ id }).strict(), sweepInfo, 'One sweep with its runs and per-size results.'),
};
