import path from 'node:path';
import type { Db } from '../db/database';
import { nowIso } from '../db/database';
import { LabError } from '../errors';
import { inspectOnnx } from './inspect';
import { RANDOM_VIT_S14, randomVitFileName } from './random-vit';

/** A row of the `backbones` table. */
export interface BackboneRow {
  id: number;
  name: string;
  kind: 'onnx' | 'raw-pixels' | 'random-vit';
  file: string | null;
  sha256: string | null;
  sizeBytes: number;
  inputName: string | null;
  outputName: string | null;
  outputKind: 'pooler' | 'cls' | 'first' | null;
  dim: number;
  precision: 'float32' | 'float16';
  imageSize: number;
  createdAt: string;
}

interface RawRow {
  id: number;
  name: string;
  kind: BackboneRow['kind'];
  file: string | null;
  sha256: string | null;
  size_bytes: number;
  input_name: string | null;
  output_name: string | null;
  output_kind: BackboneRow['outputKind'];
  dim: number;
  precision: BackboneRow['precision'];
  image_size: number;
  created_at: string;
}

function toRow(r: RawRow): BackboneRow {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    file: r.file,
    sha256: r.sha256,
    sizeBytes: r.size_bytes,
    inputName: r.input_name,
    outputName: r.output_name,
    outputKind: r.output_kind,
    dim: r.dim,
    precision: r.precision,
    imageSize: r.image_size,
    createdAt: r.created_at,
  };
}

/** Names of the built-in baselines. */
export const RAW_PIXELS = 'raw-pixels';
export const RANDOM_VIT = 'random-vit-s14';

/**
 * Validates an ONNX file (see inspectOnnx) and records it. Adding the same file (same sha256) again
 * returns the existing row; a name already taken by another model is refused.
 */
export async function addBackboneFile(db: Db, file: string, name?: string): Promise<BackboneRow> {
  const abs = path.resolve(file);
  const info = await inspectOnnx(abs);
  const existing = db.prepare('SELECT * FROM backbones WHERE sha256 = ? AND file = ?').get(info.sha256, abs) as RawRow | undefined;
  if (existing) return toRow(existing);
  const finalName = (name ?? path.basename(abs).replace(/\.onnx$/i, '')).trim();
  if (!finalName) throw new LabError('invalid_input', 'A backbone name cannot be empty.');
  if (db.prepare('SELECT 1 FROM backbones WHERE name = ?').get(finalName)) {
    throw new LabError('conflict', `A backbone named "${finalName}" already exists: choose another name (--name).`);
  }
  const res = db
    .prepare(
      `INSERT INTO backbones (name, kind, file, sha256, size_bytes, input_name, output_name, output_kind, dim, precision, image_size, meta, created_at)
       VALUES (?, 'onnx', ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)`,
    )
    .run(finalName, abs, info.sha256, info.sizeBytes, info.inputName, info.outputName, info.outputKind, info.dim, info.inputType, info.imageSize, nowIso());
  return getBackbone(db, Number(res.lastInsertRowid));
}

/** All backbones, built-ins first, then by id. */
export function listBackbones(db: Db): BackboneRow[] {
  const rows = db.prepare(`SELECT * FROM backbones ORDER BY kind = 'onnx', id`).all() as RawRow[];
  return rows.map(toRow);
}

/** One backbone; LabError('not_found') when the id is unknown. */
export function getBackbone(db: Db, id: number): BackboneRow {
  const r = db.prepare('SELECT * FROM backbones WHERE id = ?').get(id) as RawRow | undefined;
  if (!r) throw new LabError('not_found', `Backbone ${id} does not exist.`);
  return toRow(r);
}

/**
 * Inserts the baselines that need no download when missing: `raw-pixels` (32x32 RGB in [0, 1], 3,072
 * dims) and `random-vit-s14` (seeded random ViT-S/14, built into modelsDir on first use).
 */
export function ensureBuiltinBackbones(db: Db, modelsDir: string): void {
  const ins = db.prepare(
    `INSERT OR IGNORE INTO backbones (name, kind, file, sha256, size_bytes, input_name, output_name, output_kind, dim, precision, image_size, meta, created_at)
     VALUES (?, ?, ?, NULL, 0, ?, ?, ?, ?, 'float32', ?, ?, ?)`,
  );
  db.transaction(() => {
    ins.run(RAW_PIXELS, 'raw-pixels', null, null, null, null, 3072, 32, '{}', nowIso());
    ins.run(
      RANDOM_VIT,
      'random-vit',
      path.join(path.resolve(modelsDir), randomVitFileName()),
      'pixel_values',
      'pooler_output',
      'pooler',
      RANDOM_VIT_S14.dim,
      RANDOM_VIT_S14.imageSize,
      JSON.stringify({ seed: RANDOM_VIT_S14.seed }),
      nowIso(),
    );
  })();
}
