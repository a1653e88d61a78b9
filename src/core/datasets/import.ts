import path from 'node:path';
import { checkpointWal, type Db } from '../db/database';
import { LabError, throwIfAborted, toLabError } from '../errors';
import { CIFAR_PIXELS, readCifar } from './cifar';
import { readImageFolder } from './folder';
import { datasetInserts, findDatasetByName, type NewDataset, type NewSample } from './queries';
import { generateShapes10, generateShapesOod } from './shapes10';

/** Where a dataset comes from. */
export type ImportSource =
  | { type: 'cifar'; path: string; coarse?: boolean }
  | { type: 'folder'; path: string; testFraction?: number; seed?: number; badImages?: 'skip' | 'error' }
  | { type: 'sample'; name: 'shapes10' | 'shapes-ood'; train?: number; test?: number };

/** Progress of an import: phases are reading, parsing, decoding, generating, writing. */
export interface ImportProgress {
  phase: string;
  done: number;
  total: number;
}

/** Options of an import. */
export interface ImportOptions {
  name?: string;
  signal?: AbortSignal;
  onProgress?: (p: ImportProgress) => void;
}

/** What an import created. */
export interface ImportResult {
  datasetId: number;
  name: string;
  counts: { train: number; test: number };
  skipped: number;
  fingerprint: string | null;
}

interface Prepared extends NewDataset {
  total: number;
  skipped: number;
  rows: () => Iterable<NewSample>;
}

function cifarDefaultName(variant: 'cifar10' | 'cifar100', coarse: boolean): string {
  return variant === 'cifar10' ? 'CIFAR-10' : coarse ? 'CIFAR-100 (coarse)' : 'CIFAR-100 (fine)';
}

function checkName(db: Db, name: string): void {
  if (!name.trim()) throw new LabError('invalid_input', 'A dataset name cannot be empty.');
  if (name.length > 200) throw new LabError('invalid_input', 'A dataset name can be at most 200 characters.');
  const used = findDatasetByName(db, name);
  if (used) {
    throw new LabError('conflict', `A dataset named '${name}' already exists (id ${used.id}): choose another name or delete that dataset first.`);
  }
}

function validate(source: ImportSource): void {
  if (source.type === 'cifar' || source.type === 'folder') {
    if (typeof source.path !== 'string' || !source.path) throw new LabError('invalid_input', `A ${source.type} import needs a path.`);
  }
  if (source.type === 'folder' && source.testFraction !== undefined && !(source.testFraction >= 0 && source.testFraction < 1)) {
    throw new LabError('invalid_input', `testFraction must be at least 0 and below 1 (got ${source.testFraction}).`);
  }
  if (source.type === 'sample') {
    if (source.name !== 'shapes10' && source.name !== 'shapes-ood') {
      throw new LabError('invalid_input', `Unknown sample dataset '${String(source.name)}'; the built-in samples are 'shapes10' and 'shapes-ood'.`);
    }
    for (const [k, v] of [['train', source.train], ['test', source.test]] as const) {
      if (v !== undefined && !(Number.isInteger(v) && v >= 10 && v <= 200_000)) {
        throw new LabError('invalid_input', `${source.name === 'shapes10' ? 'Shapes-10' : 'Shapes-OOD'} ${k} size must be a whole number from 10 to 200,000 (got ${v}).`);
      }
    }
  }
}

/** Imports a dataset in one transaction: everything is read and checked first, so a failure or cancel leaves no row. */
export async function importDataset(db: Db, source: ImportSource, opts: ImportOptions = {}): Promise<ImportResult> {
  validate(source);
  const explicit = opts.name?.trim();
  const guessed =
    explicit ??
    (source.type === 'cifar'
      ? cifarDefaultName(/cifar-?100/i.test(source.path) ? 'cifar100' : 'cifar10', !!source.coarse)
      : source.type === 'folder'
        ? path.basename(path.resolve(source.path))
        : source.name === 'shapes-ood'
          ? 'Shapes-OOD'
          : 'Shapes-10');
  checkName(db, guessed);
  throwIfAborted(opts.signal);
  const progress = opts.onProgress;
  let prep: Prepared;
  if (source.type === 'cifar') {
    const d = await readCifar(source.path, { coarse: source.coarse, signal: opts.signal, onProgress: progress });
    const name = explicit ?? cifarDefaultName(d.variant, d.coarse);
    if (name !== guessed) checkName(db, name);
    prep = {
      name,
      kind: d.variant,
      classes: d.classes,
      source: path.resolve(source.path),
      root: null,
      fingerprint: d.fingerprint,
      meta: { format: d.format, container: d.container, labels: d.variant === 'cifar100' ? (d.coarse ? 'coarse' : 'fine') : 'labels' },
      total: d.counts.train + d.counts.test,
      skipped: 0,
      rows: function* () {
        for (const b of d.batches) {
          for (let i = 0; i < b.count; i++) {
            yield {
              split: b.split,
              label: b.labels[i]!,
              source: `${b.file}#${i}`,
              width: 32,
              height: 32,
              pixels: Buffer.from(b.pixels.buffer, b.pixels.byteOffset + i * CIFAR_PIXELS, CIFAR_PIXELS),
              path: null,
              sha256: null,
              thumb: null,
            };
          }
        }
      },
    };
  } else if (source.type === 'folder') {
    const d = await readImageFolder(source.path, {
      testFraction: source.testFraction,
      seed: source.seed,
      badImages: source.badImages,
      signal: opts.signal,
      onProgress: progress,
    });
    prep = {
      name: guessed,
      kind: 'folder',
      classes: d.classes,
      source: d.root,
      root: d.root,
      fingerprint: d.fingerprint,
      meta: {
        layout: d.layout,
        testFraction: d.layout === 'class-folders' ? (source.testFraction ?? 0.2) : null,
        seed: d.layout === 'class-folders' ? (source.seed ?? 0) : null,
        badImages: source.badImages ?? 'skip',
        skipped: d.skipped.slice(0, 100),
        skippedCount: d.skipped.length,
        fingerprintRecipe: 'sha256 over samples in stored order: label byte, split byte (0 train, 1 test), 32-byte sha256 of the file',
      },
      total: d.samples.length,
      skipped: d.skipped.length,
      rows: function* () {
        for (const s of d.samples) {
          yield { split: s.split, label: s.label, source: s.path, width: s.width, height: s.height, pixels: s.pixels, path: s.path, sha256: s.sha256, thumb: s.thumb };
        }
      },
    };
  } else {
    progress?.({ phase: 'generating', done: 0, total: 1 });
    const sample = source.name;
    const d = sample === 'shapes-ood' ? generateShapesOod(source.train, source.test) : generateShapes10(source.train, source.test);
    progress?.({ phase: 'generating', done: 1, total: 1 });
    prep = {
      name: guessed,
      kind: 'sample',
      classes: d.classes,
      source: sample,
      root: null,
      fingerprint: d.fingerprint,
      meta: { sample, train: d.train.count, test: d.test.count },
      total: d.train.count + d.test.count,
      skipped: 0,
      rows: function* () {
        for (const [split, s] of [['train', d.train], ['test', d.test]] as const) {
          for (let i = 0; i < s.count; i++) {
            yield {
              split,
              label: s.labels[i]!,
              source: `${sample}/${split}#${i}`,
              width: 32,
              height: 32,
              pixels: Buffer.from(s.pixels.buffer, s.pixels.byteOffset + i * 3072, 3072),
              path: null,
              sha256: null,
              thumb: null,
            };
          }
        }
      },
    };
  }
  throwIfAborted(opts.signal);
  const result = write(db, prep, progress);
  if (prep.total >= 10_000) {
    // A big import leaves its pages in the WAL; fold them back so the disk use is the database's own size.
    try {
      checkpointWal(db);
    } catch {
      /* a busy reader only delays the checkpoint */
    }
  }
  return result;
}

function write(db: Db, p: Prepared, progress?: (p: ImportProgress) => void): ImportResult {
  const insert = datasetInserts(db);
  const counts = { train: 0, test: 0 };
  // Synchronous on purpose: better-sqlite3 transactions cannot span an await without other work on this
  // connection joining them; the slow, cancellable work (reading, decoding) is already done.
  const run = db.transaction((): number => {
    const id = insert.dataset(p);
    let idx = 0;
    for (const r of p.rows()) {
      insert.sample(id, idx, r);
      counts[r.split]++;
      idx++;
      if (progress && idx % 5000 === 0) progress({ phase: 'writing', done: idx, total: p.total });
    }
    return id;
  });
  let datasetId: number;
  try {
    datasetId = run();
  } catch (err) {
    const e = err as { code?: string; message?: string };
    if (e.code === 'SQLITE_CONSTRAINT_UNIQUE' && /datasets\.name/.test(e.message ?? '')) {
      throw new LabError('conflict', `A dataset named '${p.name}' already exists: choose another name or delete that dataset first.`);
    }
    if (e.code === 'SQLITE_FULL' || e.code === 'ENOSPC') {
      throw new LabError(
        'disk_full',
        `The disk (or the database size limit) is full: importing '${p.name}' (${p.total} images) was rolled back, nothing was kept. Free some space and import again.`,
      );
    }
    throw toLabError(err);
  }
  progress?.({ phase: 'writing', done: p.total, total: p.total });
  return { datasetId, name: p.name, counts, skipped: p.skipped, fingerprint: p.fingerprint };
}
