import { z } from 'zod';
import { empty, id, jobOf, method } from './common';

export const preset = z.enum(['dinov2-eval', 'resize-224']);
export const provider = z.enum(['auto', 'cpu', 'webgpu', 'cuda']);
/** Where images are resized and normalised: inside the model graph (uint8 pixels in), in JS, or auto. */
export const preprocessing = z.enum(['auto', 'graph', 'js']);

export const embeddingSet = z.object({
  id: z.number(),
  datasetId: z.number(),
  datasetName: z.string(),
  backboneId: z.number(),
  backboneName: z.string(),
  preset: z.string(),
  provider: z.string().nullable(),
  batchSize: z.number().nullable(),
  preprocessing: z.string().nullable(),
  dim: z.number(),
  status: z.enum(['pending', 'running', 'partial', 'done', 'failed']),
  imagesPerSec: z.number().nullable(),
  seconds: z.number().nullable(),
  error: z.string().nullable(),
  notice: z.string().nullable(),
  createdAt: z.string(),
  done: z.number(),
  total: z.number(),
});
export type EmbeddingSet = z.infer<typeof embeddingSet>;

/** What an embedding job did (the set's totals and this job's own share). */
export const embedResult = z.object({
  setId: z.number(),
  status: z.enum(['done', 'partial', 'failed']),
  /** Vectors stored for the set (all runs together) and samples in the dataset. */
  done: z.number(),
  total: z.number(),
  /** Vectors computed by this job. */
  computed: z.number(),
  provider: z.string(),
  batchSize: z.number(),
  imagesPerSec: z.number(),
  seconds: z.number(),
  notices: z.array(z.string()),
  /** Where preprocessing ran ('' when nothing was left to embed). */
  preprocessing: z.enum(['graph', 'js', '']),
});
export type EmbedResult = z.infer<typeof embedResult>;

export const embeddingsApi = {
  'sets.list': method(empty, z.array(embeddingSet), 'Embedding sets with provider, batch size, throughput and progress.'),
  'sets.get': method(z.object({ id }).strict(), embeddingSet, 'One embedding set.'),
  'sets.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Delete an embedding set, its vectors and runs.'),
  'embeddings.start': method(
    z
      .object({
        datasetId: id,
        backboneId: id,
        preset: preset.default('dinov2-eval'),
        provider: provider.default('auto'),
        batchSize: z.number().int().min(1).max(4096).optional(),
        preprocessing: preprocessing.default('auto'),
      })
      .strict(),
    jobOf('embed', embedResult),
    'Embed a dataset with a backbone (a job); starting the same dataset/backbone/preset again resumes it.',
  ),
  'embeddings.export': method(
    z.object({ setId: id, outDir: z.string().min(1) }).strict(),
    z.object({ rows: z.number(), dim: z.number(), files: z.object({ embeddings: z.string(), labels: z.string(), samples: z.string() }) }),
    'Write embeddings.npy, labels.npy and samples.csv for use in other tools.',
  ),
} as const;
