/** The knn kind's declarative part: its params (help and limits live in the schema), its text and its tags. */
import { z } from 'zod';
import type { ClassifierTags, ClassifierText } from '../spec';

/** DINO's weighted k-NN: cosine similarity, top-k votes weighted by exp(sim / T). */
export const knnParams = z
  .object({
    k: z.number().int().min(1).max(10000).default(20).meta({ label: 'k', description: 'Neighbours that vote (DINO: 20).' }),
    temperature: z.number().positive().max(100).default(0.07).meta({ label: 'Temperature', description: 'Votes weigh exp(cosine / T) (DINO: 0.07).' }),
  })
  .strict();

/** k-NN params. */
export type KnnParams = z.infer<typeof knnParams>;

export const text: ClassifierText = {
  title: 'Weighted k-NN',
  tab: 'k-NN',
  blurb: "DINO's k-NN: cosine similarity, top-k votes weighted by exp(sim / T). Nothing to fit.",
};

export const tags: ClassifierTags = { epochs: false, keepsTrainingSetByReference: true, engine: 'onnxruntime' };
