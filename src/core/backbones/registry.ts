import path from 'node:path';
import type { Db } from '../db/database';
import { LabError } from '../errors';
import { inspectOnnxIsolated } from './check';
import { type BackboneRow, findBackboneByFile, findBackboneByName, getBackbone, insertBuiltinBackbones, insertOnnxBackbone } from './queries';
import { RANDOM_VIT_S14, randomVitFileName } from './random-vit';

export { type BackboneRow, getBackbone, listBackbones } from './queries';

/** Names of the built-in baselines. */
export const RAW_PIXELS = 'raw-pixels';
export const RANDOM_VIT = 'random-vit-s14';

/**
 * Validates an ONNX file (see inspectOnnx; in a child process with a time limit, check.ts) and records
 * it. Adding the same file (same sha256) again returns the existing row; a name already taken by
 * another model is refused.
 */
/**
 * Checks and adds a local ONNX backbone. The same file (or the same bytes elsewhere) a second time is refused
 * with the name of the backbone it already is, unless `reuse` (a download that finds its file registered).
 */
export async function addBackboneFile(db: Db, file: string, name?: string, opts: { checkTimeoutMs?: number; reuse?: boolean } = {}): Promise<BackboneRow> {
  const abs = path.resolve(file);
  const info = await inspectOnnxIsolated(abs, opts.checkTimeoutMs);
  const existing = findBackboneByFile(db, info.sha256, abs);
  if (existing && opts.reuse) return existing;
  if (existing) {
    throw new LabError('conflict', `This model is already added, as backbone "${existing.name}" (#${existing.id}).`, { backboneId: existing.id, name: existing.name });
  }
  const finalName = (name ?? path.basename(abs).replace(/\.onnx$/i, '')).trim();
  if (!finalName) throw new LabError('invalid_input', 'A backbone name cannot be empty.');
  if (findBackboneByName(db, finalName)) {
    throw new LabError('conflict', `A backbone named "${finalName}" already exists: choose another name (--name).`);
  }
  const id = insertOnnxBackbone(db, {
    name: finalName,
    file: abs,
    sha256: info.sha256,
    sizeBytes: info.sizeBytes,
    inputName: info.inputName,
    outputName: info.outputName,
    outputKind: info.outputKind,
    dim: info.dim,
    precision: info.inputType,
    imageSize: info.imageSize,
  });
  return getBackbone(db, id);
}

/**
 * Inserts the baselines that need no download when missing: `raw-pixels` (32x32 RGB in [0, 1], 3,072
 * dims) and `random-vit-s14` (seeded random ViT-S/14, built into modelsDir on first use).
 */
export function ensureBuiltinBackbones(db: Db, modelsDir: string): void {
  insertBuiltinBackbones(db, [
    { name: RAW_PIXELS, kind: 'raw-pixels', file: null, inputName: null, outputName: null, outputKind: null, dim: 3072, imageSize: 32, meta: '{}' },
    {
      name: RANDOM_VIT,
      kind: 'random-vit',
      file: path.join(path.resolve(modelsDir), randomVitFileName()),
      inputName: 'pixel_values',
      outputName: 'pooler_output',
      outputKind: 'pooler',
      dim: RANDOM_VIT_S14.dim,
      imageSize: RANDOM_VIT_S14.imageSize,
      meta: JSON.stringify({ seed: RANDOM_VIT_S14.seed }),
    },
  ]);
}
