/** The `backbones` table: every read and write of it. */
import type { Db } from '../db/database';
import { nowIso } from '../db/database';
import { LabError } from '../errors';

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

/** The name of a backbone; LabError('not_found') when the id is unknown. */
export function getBackboneName(db: Db, id: number): string {
  const r = db.prepare('SELECT name FROM backbones WHERE id = ?').get(id) as { name: string } | undefined;
  if (!r) throw new LabError('not_found', `Backbone ${id} does not exist.`);
  return r.name;
}

/** The backbone with this name, if any. */
export function findBackboneByName(db: Db, name: string): BackboneRow | undefined {
  const r = db.prepare('SELECT * FROM backbones WHERE name = ?').get(name) as RawRow | undefined;
  return r ? toRow(r) : undefined;
}

/** The backbone recorded for this file with this content, if any. */
export function findBackboneByFile(db: Db, sha256: string, file: string): BackboneRow | undefined {
  const r = db.prepare('SELECT * FROM backbones WHERE sha256 = ? AND file = ?').get(sha256, file) as RawRow | undefined;
  return r ? toRow(r) : undefined;
}

/** What an ONNX backbone file is, as validated when it was added. */
export interface OnnxBackboneFields {
  name: string;
  file: string;
  sha256: string;
  sizeBytes: number;
  inputName: string;
  outputName: string;
  outputKind: NonNullable<BackboneRow['outputKind']>;
  dim: number;
  precision: BackboneRow['precision'];
  imageSize: number;
}

/** Records an ONNX backbone and returns its id. */
export function insertOnnxBackbone(db: Db, b: OnnxBackboneFields): number {
  const res = db
    .prepare(
      `INSERT INTO backbones (name, kind, file, sha256, size_bytes, input_name, output_name, output_kind, dim, precision, image_size, meta, created_at)
       VALUES (?, 'onnx', ?, ?, ?, ?, ?, ?, ?, ?, ?, '{}', ?)`,
    )
    .run(b.name, b.file, b.sha256, b.sizeBytes, b.inputName, b.outputName, b.outputKind, b.dim, b.precision, b.imageSize, nowIso());
  return Number(res.lastInsertRowid);
}

/** A built-in baseline: a backbone that needs no download. */
export interface BuiltinBackbone {
  name: string;
  kind: 'raw-pixels' | 'random-vit';
  file: string | null;
  inputName: string | null;
  outputName: string | null;
  outputKind: BackboneRow['outputKind'];
  dim: number;
  imageSize: number;
  meta: string;
}

/** Inserts the built-in baselines that are missing (by name), in one transaction. */
export function insertBuiltinBackbones(db: Db, rows: BuiltinBackbone[]): void {
  const ins = db.prepare(
    `INSERT OR IGNORE INTO backbones (name, kind, file, sha256, size_bytes, input_name, output_name, output_kind, dim, precision, image_size, meta, created_at)
     VALUES (?, ?, ?, NULL, 0, ?, ?, ?, ?, 'float32', ?, ?, ?)`,
  );
  db.transaction(() => {
    for (const b of rows) ins.run(b.name, b.kind, b.file, b.inputName, b.outputName, b.outputKind, b.dim, b.imageSize, b.meta, nowIso());
  })();
}

/** Deletes a backbone (and, by cascade, its embedding sets); LabError('not_found') when the id is unknown. */
export function deleteBackbone(db: Db, id: number): void {
  const res = db.prepare('DELETE FROM backbones WHERE id = ?').run(id);
  if (res.changes === 0) throw new LabError('not_found', `Backbone ${id} does not exist.`);
}
