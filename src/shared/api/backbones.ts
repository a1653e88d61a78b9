import { z } from 'zod';
import { empty, id, jobOf, method } from './common';

export const backbone = z.object({
  id: z.number(),
  name: z.string(),
  kind: z.enum(['onnx', 'raw-pixels', 'random-vit']),
  file: z.string().nullable(),
  sha256: z.string().nullable(),
  sizeBytes: z.number(),
  inputName: z.string().nullable(),
  outputName: z.string().nullable(),
  outputKind: z.enum(['pooler', 'cls', 'first']).nullable(),
  dim: z.number(),
  precision: z.enum(['float32', 'float16']),
  imageSize: z.number(),
  createdAt: z.string(),
});
export type Backbone = z.infer<typeof backbone>;

export const catalogModel = z.enum(['dinov2-small', 'dinov2-base', 'dinov2-large', 'dinov2-giant']);

export const catalogEntry = z.object({
  id: catalogModel,
  repo: z.string(),
  arch: z.string(),
  params: z.number(),
  dim: z.number(),
  files: z.array(
    z.object({
      precision: z.enum(['float32', 'float16']),
      file: z.string(),
      /** The pinned commit and the file's sha256 there; null when not pinned (no download). */
      revision: z.string().nullable(),
      sha256: z.string().nullable(),
      url: z.string(),
      approxBytes: z.number(),
    }),
  ),
});

/** What a backbone download produced (reused: the model was already there under that name). */
export const backboneDownloadResult = z.object({ backboneId: z.number(), name: z.string(), reused: z.boolean() });

export const backbonesApi = {
  'backbones.list': method(empty, z.array(backbone), 'Backbones: ONNX models and the built-in baselines.'),
  'backbones.catalog': method(empty, z.array(catalogEntry), 'DINOv2 models that can be downloaded from Hugging Face.'),
  'backbones.add': method(
    z.object({ file: z.string().min(1), name: z.string().trim().min(1).max(200).optional() }).strict(),
    backbone,
    'Add a local ONNX file (validated: input [B,3,H,W], output pooler_output / last_hidden_state / [B,D]).',
  ),
  'backbones.download': method(
    z.object({ model: catalogModel, precision: z.enum(['float32', 'float16']).default('float32') }).strict(),
    jobOf('backbone-download', backboneDownloadResult),
    'Download a DINOv2 ONNX export from Hugging Face at its pinned revision (resumable; refused unless its sha256 is the pinned one), then add it (a job).',
  ),
  'backbones.delete': method(z.object({ id }).strict(), z.object({ deleted: z.number() }), 'Remove a backbone (and its embedding sets).'),
} as const;
