/** The logreg kind's declarative part: its params (help and limits live in the schema), its text and its tags. */
import { z } from 'zod';
import type { ClassifierTags, ClassifierText } from '../spec';

/** The default logreg strength grid: C = 1e-4 .. 1e2, 13 log-spaced values (half decades). */
export const DEFAULT_C_GRID: readonly number[] = Array.from({ length: 13 }, (_, i) => Number((10 ** (-4 + i / 2)).toPrecision(6)));

/** Multinomial L2 logistic regression (DINOv2 linear probe): C chosen on a validation split, refit on all train data. */
export const logregParams = z
  .object({
    /** Inverse regularisation strengths (scikit-learn's C): objective C * sum(logloss) + 0.5 * ||W||^2. */
    cGrid: z
      .array(z.number().positive())
      .min(1)
      .max(100)
      .default([...DEFAULT_C_GRID])
      .meta({
        label: 'C grid',
        description: 'Inverse L2 strengths tried on the validation split (default 1e-4 .. 1e2, 13 values); the best is refit on all training data.',
      }),
    maxIter: z.number().int().min(1).max(100000).default(500).meta({ label: 'Max iterations', description: 'L-BFGS iterations per fit.' }),
    validationFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.1)
      .meta({ label: 'Validation fraction', description: 'Seeded share of the training split used to choose C.' }),
    standardize: z.boolean().default(true).meta({ label: 'Standardise', description: 'Scale features to zero mean, unit variance (train statistics).' }),
  })
  .strict();

/** Logistic regression params. */
export type LogregParams = z.infer<typeof logregParams>;

export const text: ClassifierText = {
  title: 'Linear probe',
  tab: 'Linear probe',
  blurb: 'Multinomial logistic regression, L2 strength chosen on a validation split (DINOv2 protocol).',
};

export const tags: ClassifierTags = { epochs: false, keepsTrainingSetByReference: false, engine: 'onnxruntime' };
