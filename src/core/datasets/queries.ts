import path from 'node:path';
import sharp from 'sharp';
import { nowIso, type Db } from '../db/database';
import { LabError } from '../errors';
import { MAX_INPUT_PIXELS } from './folder';

/** A dataset as listed in the app and the CLI. */
export interface DatasetSummary {
  id: number;
  name: string;
  kind: string;
  classes: string[];
  counts: { train: number; test: number };
  perClass: { train: number[]; test: number[] };
  fingerprint: string | null;
  source: string;
  createdAt: string;
  skipped: { count: number; files: { path: string; reason: string }[] };
  warnings: string[];
}

interface DatasetRow {
  id: number;
  name: string;
  kind: string;
  classes: string;
  source: string;
  fingerprint: string | null;
  created_at: string;
  meta: string | null;
}

/** What a folder import recorded about the files it skipped (in the dataset's meta). */
function skippedOf(meta: string | null): DatasetSummary['skipped'] {
  try {
    const m = JSON.parse(meta ?? '{}') as { skipped?: { path: string; reason: string }[]; skippedCount?: number };
    const files = Array.isArray(m.skipped) ? m.skipped.filter((f) => typeof f?.path === 'string').map((f) => ({ path: f.path, reason: String(f.reason ?? '') })) : [];
    return { count: typeof m.skippedCount === 'number' ? m.skippedCount : files.length, files };
  } catch {
    return { count: 0, files: [] };
  }
}

/**
 * Why some metrics of this dataset's runs will be missing, in plain words: an empty test split (no test
 * metrics at all), or classes with no test image (their recall and F1 cannot be measured).
 */
export function splitWarnings(classes: string[], perClass: { train: number[]; test: number[] }): string[] {
  const out: string[] = [];
  const test = perClass.test.reduce((a, b) => a + b, 0);
  if (test === 0) {
    out.push('The test split is empty: runs on this dataset have no test metrics. Import it again with a test fraction above 0 (or a test/ folder).');
    return out;
  }
  const none = classes.filter((_, i) => (perClass.test[i] ?? 0) === 0);
  if (none.length) {
    const names = none.map((c) => `'${c}'`).join(', ');
    out.push(
      `No test images for ${none.length === 1 ? 'class' : 'classes'} ${names}: their test recall and F1 cannot be measured, so they show "–" (for an image folder: add images to ${none.length === 1 ? 'it' : 'them'} or raise the test fraction).`,
    );
  }
  const noTrain = classes.filter((_, i) => (perClass.train[i] ?? 0) === 0);
  if (noTrain.length) out.push(`No training images for ${noTrain.length === 1 ? 'class' : 'classes'} ${noTrain.map((c) => `'${c}'`).join(', ')}: classifiers cannot learn ${noTrain.length === 1 ? 'it' : 'them'}.`);
  return out;
}

function summarize(db: Db, r: DatasetRow): DatasetSummary {
  const classes = JSON.parse(r.classes) as string[];
  const perClass = { train: new Array<number>(classes.length).fill(0), test: new Array<number>(classes.length).fill(0) };
  const counts = { train: 0, test: 0 };
  // Served from the (dataset_id, split, label) index without touching the rows.
  const groups = db.prepare('SELECT split, label, COUNT(*) AS n FROM samples WHERE dataset_id = ? GROUP BY split, label').all(r.id) as {
    split: 'train' | 'test';
    label: number;
    n: number;
  }[];
  for (const g of groups) {
    counts[g.split] += g.n;
    if (g.label >= 0 && g.label < classes.length) perClass[g.split][g.label] = g.n;
  }
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    classes,
    counts,
    perClass,
    fingerprint: r.fingerprint,
    source: r.source,
    createdAt: r.created_at,
    skipped: skippedOf(r.meta),
    warnings: splitWarnings(classes, perClass),
  };
}

const COLS = 'id, name, kind, classes, source, fingerprint, created_at, meta';

/** All datasets, oldest first, with counts per split and class. */
export function listDatasets(db: Db): DatasetSummary[] {
  return (db.prepare(`SELECT ${COLS} FROM datasets ORDER BY id`).all() as DatasetRow[]).map((r) => summarize(db, r));
}

/** One dataset; LabError('not_found') if there is none with that id. */
export function getDataset(db: Db, id: number): DatasetSummary {
  const r = db.prepare(`SELECT ${COLS} FROM datasets WHERE id = ?`).get(id) as DatasetRow | undefined;
  if (!r) throw new LabError('not_found', `There is no dataset with id ${id}.`);
  return summarize(db, r);
}

/** Renames a dataset; LabError('conflict') when another dataset has that name. */
export function renameDataset(db: Db, id: number, name: string): void {
  const n = name.trim();
  if (!n) throw new LabError('invalid_input', 'A dataset name cannot be empty.');
  if (n.length > 200) throw new LabError('invalid_input', 'A dataset name can be at most 200 characters.');
  const other = db.prepare('SELECT id FROM datasets WHERE name = ? AND id <> ?').get(n, id) as { id: number } | undefined;
  if (other) throw new LabError('conflict', `A dataset named '${n}' already exists (id ${other.id}): choose another name.`);
  const info = db.prepare('UPDATE datasets SET name = ? WHERE id = ?').run(n, id);
  if (info.changes === 0) throw new LabError('not_found', `There is no dataset with id ${id}.`);
}

/** Deletes a dataset with its samples and everything computed from them (cascade). */
export function deleteDataset(db: Db, id: number): void {
  const info = db.prepare('DELETE FROM datasets WHERE id = ?').run(id);
  if (info.changes === 0) throw new LabError('not_found', `There is no dataset with id ${id}.`);
}

/** Whether a dataset with this id exists. */
export function datasetExists(db: Db, id: number): boolean {
  return db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(id) !== undefined;
}

/** How many samples a dataset has, both splits. */
export function countSamples(db: Db, datasetId: number): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM samples WHERE dataset_id = ?').get(datasetId) as { n: number }).n;
}

/** A reader, prepared once, of a sample's split, label and source (undefined for an unknown id). */
export function sampleInfoReader(db: Db): (sampleId: number) => { split: 'train' | 'test'; label: number; source: string } | undefined {
  const info = db.prepare('SELECT split, label, source FROM samples WHERE id = ?');
  return (sampleId) => info.get(sampleId) as { split: 'train' | 'test'; label: number; source: string } | undefined;
}

/** The dataset with exactly this name, if there is one. */
export function findDatasetByName(db: Db, name: string): { id: number } | undefined {
  return db.prepare('SELECT id FROM datasets WHERE name = ?').get(name) as { id: number } | undefined;
}

/** A dataset row as an import writes it. */
export interface NewDataset {
  name: string;
  kind: 'cifar10' | 'cifar100' | 'folder' | 'sample';
  classes: string[];
  source: string;
  root: string | null;
  fingerprint: string | null;
  meta: Record<string, unknown>;
}

/** A sample row as an import writes it: inline pixels (32x32) or a path under the dataset root. */
export interface NewSample {
  split: 'train' | 'test';
  label: number;
  source: string;
  width: number;
  height: number;
  pixels: Buffer | null;
  path: string | null;
  sha256: string | null;
  thumb: Buffer | null;
}

/** The inserts of an import, prepared once; the caller runs them inside its own (single) transaction. */
export function datasetInserts(db: Db): { dataset: (d: NewDataset) => number; sample: (datasetId: number, idx: number, s: NewSample) => void } {
  const insertDataset = db.prepare(
    'INSERT INTO datasets (name, kind, classes, source, root, fingerprint, meta, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const insertSample = db.prepare(
    'INSERT INTO samples (dataset_id, idx, split, label, source, width, height, pixels, path, sha256, thumb) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  return {
    dataset: (d) =>
      Number(insertDataset.run(d.name, d.kind, JSON.stringify(d.classes), d.source, d.root, d.fingerprint, JSON.stringify(d.meta), nowIso()).lastInsertRowid),
    sample: (datasetId, idx, r) => {
      insertSample.run(datasetId, idx, r.split, r.label, r.source, r.width, r.height, r.pixels, r.path, r.sha256, r.thumb);
    },
  };
}

/** A page of samples, for the sample browser. */
export function listSamples(
  db: Db,
  q: { datasetId: number; split?: 'train' | 'test'; label?: number; offset: number; limit: number },
): { total: number; items: { id: number; idx: number; split: 'train' | 'test'; label: number; source: string; width: number; height: number }[] } {
  if (!Number.isInteger(q.offset) || q.offset < 0) throw new LabError('invalid_input', `offset must be a whole number >= 0 (got ${q.offset}).`);
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > 1000) throw new LabError('invalid_input', `limit must be a whole number from 1 to 1000 (got ${q.limit}).`);
  if (q.split !== undefined && q.split !== 'train' && q.split !== 'test') throw new LabError('invalid_input', `split must be 'train' or 'test'.`);
  if (q.label !== undefined && q.label !== null && !Number.isInteger(q.label)) throw new LabError('invalid_input', 'label must be a whole number.');
  if (!datasetExists(db, q.datasetId)) throw new LabError('not_found', `There is no dataset with id ${q.datasetId}.`);
  // Order: train before test, then by label, then import order. Each split is read along the
  // (dataset_id, split, label) index, so counting and skipping `offset` never touch the pixel rows
  // and no sort is needed.
  const splits: ('train' | 'test')[] = q.split ? [q.split] : ['train', 'test'];
  const hasLabel = q.label !== undefined && q.label !== null;
  const w = `dataset_id = ? AND split = ?${hasLabel ? ' AND label = ?' : ''}`;
  const countStmt = db.prepare(`SELECT COUNT(*) AS n FROM samples WHERE ${w}`).pluck();
  const pageStmt = db.prepare(`SELECT id FROM samples WHERE ${w} ORDER BY label, id LIMIT ? OFFSET ?`).pluck();
  const argsFor = (split: string): (string | number)[] => (hasLabel ? [q.datasetId, split, q.label as number] : [q.datasetId, split]);
  let total = 0;
  let skip = q.offset;
  let need = q.limit;
  const ids: number[] = [];
  for (const split of splits) {
    const n = countStmt.get(...argsFor(split)) as number;
    total += n;
    if (need === 0) continue;
    if (skip >= n) {
      skip -= n;
      continue;
    }
    const got = pageStmt.all(...argsFor(split), need, skip) as number[];
    ids.push(...got);
    need -= got.length;
    skip = 0;
  }
  if (ids.length === 0) return { total, items: [] };
  type Item = { id: number; idx: number; split: 'train' | 'test'; label: number; source: string; width: number; height: number };
  const found = db
    .prepare(`SELECT id, idx, split, label, source, width, height FROM samples WHERE id IN (${ids.map(() => '?').join(',')})`)
    .all(...ids) as Item[];
  const byId = new Map(found.map((r) => [r.id, r]));
  return { total, items: ids.map((id) => byId.get(id)!) };
}

interface SampleImageRow {
  width: number;
  height: number;
  pixels: Buffer | null;
  path: string | null;
  thumb: Buffer | null;
  root: string | null;
}

function sampleRow(db: Db, sampleId: number): SampleImageRow {
  const r = db
    .prepare('SELECT s.width, s.height, s.pixels, s.path, s.thumb, d.root FROM samples s JOIN datasets d ON d.id = s.dataset_id WHERE s.id = ?')
    .get(sampleId) as SampleImageRow | undefined;
  if (!r) throw new LabError('not_found', `There is no sample with id ${sampleId}.`);
  return r;
}

/** A sample's facts (dataset, split, label, source file, size); not_found when absent. */
export function sampleFacts(db: Db, sampleId: number): { id: number; datasetId: number; split: 'train' | 'test'; label: number; source: string; width: number; height: number } {
  const r = db.prepare('SELECT id, dataset_id AS datasetId, split, label, source, width, height FROM samples WHERE id = ?').get(sampleId) as
    | { id: number; datasetId: number; split: 'train' | 'test'; label: number; source: string; width: number; height: number }
    | undefined;
  if (!r) throw new LabError('not_found', `There is no sample with id ${sampleId}.`);
  return r;
}

/** A browsable thumbnail: PNG from inline pixels (upscaled x2, nearest), else the stored JPEG thumb. */
export async function sampleThumbnail(db: Db, sampleId: number): Promise<{ mime: string; data: Buffer }> {
  const r = sampleRow(db, sampleId);
  if (r.pixels && r.pixels.length === r.width * r.height * 3) {
    const scale = Math.max(1, Math.round(64 / Math.max(r.width, r.height)));
    const data = await sharp(r.pixels, { raw: { width: r.width, height: r.height, channels: 3 } })
      .resize(r.width * scale, r.height * scale, { kernel: 'nearest' })
      .png()
      .toBuffer();
    return { mime: 'image/png', data };
  }
  if (r.thumb) return { mime: 'image/jpeg', data: r.thumb };
  const { data, width, height } = await loadSampleRGB(db, sampleId);
  const png = await sharp(data, { raw: { width, height, channels: 3 } }).resize(96, 96, { fit: 'inside' }).png().toBuffer();
  return { mime: 'image/png', data: png };
}

/** The full-resolution image as HWC RGB: inline pixels, or decoded from the dataset root (EXIF applied, alpha dropped, grey replicated). */
export async function loadSampleRGB(db: Db, sampleId: number): Promise<{ data: Uint8Array; width: number; height: number }> {
  const r = sampleRow(db, sampleId);
  if (r.pixels && r.pixels.length === r.width * r.height * 3) {
    return { data: new Uint8Array(r.pixels.buffer, r.pixels.byteOffset, r.pixels.length), width: r.width, height: r.height };
  }
  if (!r.path || !r.root) throw new LabError('not_found', `Sample ${sampleId} has neither pixels nor a file path.`);
  const file = path.join(r.root, ...r.path.split('/'));
  try {
    const out = await sharp(file, { limitInputPixels: MAX_INPUT_PIXELS, pages: 1 })
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    if (out.info.channels !== 3) throw new Error(`decoded to ${out.info.channels} channels`);
    return { data: new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.length), width: out.info.width, height: out.info.height };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT' || /missing|no such file/i.test(e.message)) {
      throw new LabError('not_found', `The image ${file} is gone: it was moved or deleted after the import. Put it back or re-import the folder.`);
    }
    throw new LabError('bad_image', `Cannot decode ${file}: ${e.message}`);
  }
}
