import { z } from 'zod';
import { id, jobOf, method, seed } from './common';

export const probeResult = z.object({
  id: z.number(),
  setId: z.number(),
  name: z.string(),
  thumb: z.string(),
  createdAt: z.string(),
  /** k-NN similarity to the training set and where it falls among the test split's (low percentile = unusual). */
  ood: z.object({ similarity: z.number(), percentile: z.number(), unusual: z.boolean() }),
  neighbors: z.array(z.object({ sampleId: z.number(), label: z.number(), similarity: z.number(), thumb: z.string() })),
  predictions: z.array(
    z.object({ runId: z.number(), kind: z.string(), top: z.array(z.object({ label: z.number(), prob: z.number() })) }),
  ),
  agree: z.boolean(),
});
export type ProbeResult = z.infer<typeof probeResult>;

/** What a probe job stored: one tried image each. */
export const probeJobResult = z.object({
  probeIds: z.array(z.number()),
  /** Images that could not be read, by name, with the reason; the others were tried. */
  refused: z.array(z.object({ name: z.string(), reason: z.string() })).default([]),
});
/** What a map job computed. */
export const mapJobResult = z.object({ setId: z.number(), n: z.number() });

export const mapPoint = z.object({ x: z.number(), y: z.number(), label: z.number(), sampleId: z.number(), split: z.enum(['train', 'test']) });

export const predictApi = {
  'probe.start': method(
    z
      .object({
        setId: id,
        images: z
          .array(z.object({ name: z.string().min(1).max(255), dataBase64: z.string().min(1).max(30_000_000) }).strict())
          .min(1)
          .max(16),
      })
      .strict(),
    jobOf('probe', probeJobResult),
    'Embed dropped images with the set\'s backbone and preset and ask every trained run (a job).',
  ),
  'probes.list': method(z.object({ setId: id }).strict(), z.array(probeResult), 'Images tried on a set, newest first, with their results.'),
  'probes.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Forget one tried image and its results.'),
  'map.start': method(
    z.object({ setId: id, n: z.number().int().min(50).max(20_000).default(5000), seed: seed.default(0) }).strict(),
    jobOf('map', mapJobResult),
    'Compute a 2-D UMAP of a seeded subsample of an embedding set (a job).',
  ),
  'map.get': method(
    z.object({ setId: id }).strict(),
    z.object({ setId: z.number(), n: z.number(), seed: z.number(), createdAt: z.string(), points: z.array(mapPoint) }).nullable(),
    'The latest UMAP of a set, or null.',
  ),
  'samples.thumb': method(z.object({ sampleId: id }).strict(), z.object({ thumb: z.string() }), 'One sample\'s thumbnail as a data URL.'),
} as const;
