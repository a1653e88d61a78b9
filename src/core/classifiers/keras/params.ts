/** The keras kind's declarative part: its params (help and limits live in the schema), its text and its tags. */
import { z } from 'zod';
import type { ClassifierTags, ClassifierText } from '../spec';

/** Keras's Sequential Dense(256, relu) -> Dense(classes, softmax), Glorot init, Adam, sparse cross-entropy, batch 32. */
export const kerasParams = z
  .object({
    hidden: z.number().int().min(1).max(8192).default(256).meta({ label: 'Hidden units', description: 'Width of Dense(relu) (study: 256).' }),
    lr: z.number().positive().max(10).default(1e-3).meta({ label: 'Learning rate', description: 'Adam step size (Keras default 1e-3).' }),
    batchSize: z.number().int().min(1).max(65536).default(32).meta({ label: 'Batch size', description: 'Mini-batch size (Keras default 32).' }),
    epochs: z.number().int().min(1).max(10000).default(25).meta({ label: 'Epochs', description: 'Passes over the training data (study: 25).' }),
    validationFraction: z
      .number()
      .min(0)
      .max(0.9)
      .default(0.1)
      .meta({ label: 'Validation fraction', description: 'Seeded share of the training split passed as validationData (val_loss / val_accuracy).' }),
  })
  .strict();

/** Keras-style net params. */
export type KerasParams = z.infer<typeof kerasParams>;

export const text: ClassifierText = {
  title: 'Keras-style net',
  tab: 'Keras',
  blurb: "Keras's Dense(256, relu) → Dense(softmax): Glorot init, batch 32, Adam; keeps the last epoch's weights.",
};

export const tags: ClassifierTags = { epochs: true, keepsTrainingSetByReference: false, engine: 'onnxruntime' };
