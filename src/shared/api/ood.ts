import { z } from 'zod';
import { id, method } from './common';

export const oodMetricsSchema = z.object({ auroc: z.number(), aupr_in: z.number(), aupr_out: z.number(), fpr_at_95_tpr: z.number() });

/** The OOD benchmark of a pair of sets: per score its metrics, ROC curve (thinned) and in/out histograms. */
export const oodResult = z.object({
  setId: z.number(),
  oodSetId: z.number(),
  inRows: z.number(),
  outRows: z.number(),
  trainRows: z.number(),
  seconds: z.number(),
  scores: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      metrics: oodMetricsSchema,
      roc: z.object({ fpr: z.array(z.number()), tpr: z.array(z.number()) }),
      hist: z.object({ edges: z.array(z.number()), in: z.array(z.number()), out: z.array(z.number()) }),
    }),
  ),
  /** Where the per-sample scores were written (scoresOut), else null. */
  scoresFile: z.string().nullable(),
});
export type OodResult = z.infer<typeof oodResult>;

export const oodApi = {
  'ood.run': method(
    z
      .object({
        setId: id,
        oodSetId: id,
        runIds: z.array(id).optional(),
        oodSplit: z.enum(['test', 'train', 'all']).default('test'),
        scoresOut: z.string().min(1).optional(),
      })
      .strict(),
    oodResult,
    "Out-of-distribution benchmark: S's test split vs T's samples (same backbone and preset), k-NN, Mahalanobis, MSP and energy scores with AUROC, AUPR and FPR@95.",
  ),
};
