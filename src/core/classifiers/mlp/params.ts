/** The mlp kind's declarative part: its params (help and limits live in the schema), its text and its tags. */
import { z } from 'zod';
import type { ClassifierTags, ClassifierText } from '../spec';

/** The reference study's PyTorch MLP: 384->256 ReLU->classes, Adam 1e-3, batch 64, 25 epochs, best-epoch restore. */
export const mlpParams = z
  .object({
    hidden: z.number().int().min(1).max(8192).default(256).meta({ label: 'Hidden units', description: 'Width of the ReLU hidden layer (study: 256).' }),
    lr: z.number().positive().max(10).default(1e-3).meta({ label: 'Learning rate', description: 'Adam step size (study: 1e-3; betas 0.9/0.999, eps 1e-8).' }),
    batchSize: z.number().int().min(1).max(65536).default(64).meta({ label: 'Batch size', description: 'Mini-batch size (study: 64).' }),
    epochs: z.number().int().min(1).max(10000).default(25).meta({ label: 'Epochs', description: 'Passes over the training data (study: 25).' }),
    validationFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.1)
      .meta({ label: 'Validation fraction', description: 'Seeded share of the training split held out to select the best epoch.' }),
    /**
     * 'validation' selects the best epoch on a seeded hold-out of the training split. 'test' reproduces the
     * study, which selected on the test set: the caller then passes the test set as fit's `validation`,
     * so the reported test accuracy is optimistically biased (test data leaks into model selection).
     */
    selectOn: z
      .enum(['validation', 'test'])
      .default('validation')
      .meta({
        label: 'Select best epoch on',
        description:
          "'validation' (default) uses the held-out part of train. 'test' selects on the test set as in the study: this leaks test data, so its test accuracy is optimistic.",
      }),
  })
  .strict();

/** MLP params. */
export type MlpParams = z.infer<typeof mlpParams>;

export const text: ClassifierText = {
  title: 'MLP',
  tab: 'MLP',
  blurb: "The study's PyTorch-style net: D→256 ReLU→classes, Adam; keeps the best epoch's weights.",
};

export const tags: ClassifierTags = { epochs: true, keepsTrainingSetByReference: false, engine: 'onnxruntime' };
