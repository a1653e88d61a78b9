/** The svc kind's declarative part: its params (help and limits live in the schema), its text and its tags. */
import { z } from 'zod';
import type { ClassifierTags, ClassifierText } from '../spec';

/** RBF SVC, libsvm-style (scikit-learn's SVC() defaults). */
export const svcParams = z
  .object({
    C: z.number().positive().default(1).meta({ label: 'C', description: 'Penalty of the soft margin (scikit-learn default 1).' }),
    /** 'scale' = 1 / (D * Var(X)) over all entries, as scikit-learn. */
    gamma: z
      .union([z.literal('scale'), z.number().positive()])
      .default('scale')
      .meta({ label: 'Gamma', description: "RBF width: 'scale' = 1 / (D x Var(X)) as scikit-learn, or a positive number." }),
    tol: z.number().positive().default(1e-3).meta({ label: 'Tolerance', description: 'Stopping tolerance of the SMO solver (libsvm default 1e-3).' }),
    cacheMb: z
      .number()
      .min(1)
      .max(65536)
      .default(512)
      .meta({
        label: 'Kernel memory (MB)',
        description:
          "Memory for kernel values: the precomputed class-pair kernel blocks stay within it (and libsvm's row cache for pairs too large for it). " +
          'The default 512 keeps a fit on 50,000 rows in 10 classes within 1 GB + 2x the training matrix, solving one class pair at a time; ' +
          'with memory to spare (50,000 rows, 10 classes), from about 670 MB two pairs are solved at once, from about 1,530 MB no class block is recomputed.',
      }),
    shrinking: z.boolean().default(true).meta({ label: 'Shrinking', description: 'libsvm shrinking heuristic (faster, same solution).' }),
    probability: z.boolean().default(true).meta({ label: 'Probabilities', description: 'Fit Platt scaling so the drop-zone shows class probabilities.' }),
    /** -1 = no limit (scikit-learn's max_iter=-1). */
    maxIter: z.number().int().min(-1).default(-1).meta({ label: 'Max iterations', description: 'SMO iteration cap per class pair; -1 = unlimited.' }),
  })
  .strict();

/** SVC params. */
export type SvcParams = z.infer<typeof svcParams>;

export const text: ClassifierText = {
  title: 'RBF SVC',
  tab: 'SVC',
  blurb: "libsvm-style one-vs-one SMO with an RBF kernel (scikit-learn's SVC()).",
};

export const tags: ClassifierTags = { epochs: false, keepsTrainingSetByReference: false, engine: 'js' };
