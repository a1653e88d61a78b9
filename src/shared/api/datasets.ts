import { z } from 'zod';
import { empty, id, jobOf, method, seed, split } from './common';

export const importSource = z.discriminatedUnion('type', [
  z.object({ type: z.literal('cifar'), path: z.string().min(1), coarse: z.boolean().optional() }).strict(),
  z
    .object({
      type: z.literal('folder'),
      path: z.string().min(1),
      testFraction: z.number().min(0).max(0.9).optional(),
      seed: seed.optional(),
      badImages: z.enum(['skip', 'error']).optional(),
    })
    .strict(),
  z
    .object({
      type: z.literal('sample'),
      name: z.enum(['shapes10', 'shapes-ood']),
      train: z.number().int().min(10).max(100_000).optional(),
      test: z.number().int().min(10).max(100_000).optional(),
    })
    .strict(),
]);
export type ImportSourceInput = z.infer<typeof importSource>;

export const datasetSummary = z.object({
  id: z.number(),
  name: z.string(),
  kind: z.string(),
  classes: z.array(z.string()),
  counts: z.object({ train: z.number(), test: z.number() }),
  perClass: z.object({ train: z.array(z.number()), test: z.array(z.number()) }),
  fingerprint: z.string().nullable(),
  source: z.string(),
  createdAt: z.string(),
  /** Files a folder import skipped (not images, damaged, empty): the count, and the first 100 with the reason. */
  skipped: z.object({ count: z.number(), files: z.array(z.object({ path: z.string(), reason: z.string() })) }).default({ count: 0, files: [] }),
  /** What about the data makes some metrics impossible (an empty test split, classes without test images), in plain words. */
  warnings: z.array(z.string()).default([]),
});
export type DatasetSummary = z.infer<typeof datasetSummary>;

export const sampleItem = z.object({
  id: z.number(),
  idx: z.number(),
  split,
  label: z.number(),
  source: z.string(),
  width: z.number(),
  height: z.number(),
  /** A data: URL of the thumbnail. */
  thumb: z.string(),
});
export type SampleItem = z.infer<typeof sampleItem>;

/** What an import (or a download, which ends with an import) produced. */
export const importResult = z.object({
  datasetId: z.number(),
  name: z.string(),
  counts: z.object({ train: z.number(), test: z.number() }),
  skipped: z.number(),
  fingerprint: z.string().nullable(),
});
export type ImportResult = z.infer<typeof importResult>;

const datasetName = z.string().trim().min(1).max(200);

export const datasetsApi = {
  'datasets.list': method(empty, z.array(datasetSummary), 'Datasets with counts per split and class.'),
  'datasets.get': method(z.object({ id }).strict(), datasetSummary, 'One dataset.'),
  'datasets.import': method(
    z.object({ source: importSource, name: datasetName.optional() }).strict(),
    jobOf('import', importResult),
    'Import a CIFAR archive/folder, an image folder or the built-in Shapes-10 sample (a job).',
  ),
  'datasets.download': method(
    z.object({ which: z.enum(['cifar10', 'cifar100']), coarse: z.boolean().optional(), name: datasetName.optional() }).strict(),
    jobOf('download', importResult),
    'Download CIFAR-10/100 from the official site (md5-checked, resumable), then import it (a job).',
  ),
  'datasets.rename': method(z.object({ id, name: datasetName }).strict(), datasetSummary, 'Rename a dataset.'),
  'datasets.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Delete a dataset with its embeddings and runs.'),
  'samples.get': method(
    z.object({ sampleId: id }).strict(),
    z.object({
      id: z.number(),
      datasetId: z.number(),
      split,
      label: z.number(),
      source: z.string(),
      width: z.number(),
      height: z.number(),
      /** The image at up to 256 px (small images scaled up without smoothing), as a data URL. */
      image: z.string(),
      /** The finished embedding set the neighbours come from (the newest of the dataset), or null. */
      setId: z.number().nullable(),
      setLabel: z.string().nullable(),
      /** Its nearest training images in that set (cosine), itself left out. */
      neighbors: z.array(z.object({ sampleId: z.number(), label: z.number(), similarity: z.number(), thumb: z.string() })),
    }),
    'One sample opened: a larger image, its label, split and source file, and its nearest training images in a finished set.',
  ),
  'samples.list': method(
    z
      .object({
        datasetId: id,
        split: split.optional(),
        label: z.number().int().min(0).optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(60),
      })
      .strict(),
    z.object({ total: z.number(), items: z.array(sampleItem) }),
    'A page of samples with thumbnails, filtered by split and class.',
  ),
} as const;
