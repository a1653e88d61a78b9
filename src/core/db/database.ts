import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors';
import { migrations } from './migrations';

export type Db = Database.Database;

/** Opens (creating if needed) the database: WAL, foreign keys, integrity check, migrations. */
export function openDatabase(file: string, opts: { readonly?: boolean; skipIntegrityCheck?: boolean } = {}): Db {
  if (file !== ':memory:') fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  let db: Db;
  try {
    db = new Database(file, { readonly: opts.readonly ?? false, ...nativeBindingOption() });
  } catch (err) {
    throw new LabError('db_corrupt', `Cannot open the database ${file}: ${(err as Error).message}`);
  }
  try {
    db.pragma('busy_timeout = 10000');
    // New files get 16 KiB pages: a 32x32 sample row (3 KB) fits once in a 4 KiB page but five times in
    // 16 KiB, which keeps CIFAR-10 under 200 MB (measured by bench/import). Must precede WAL.
    // New files also get incremental auto-vacuum, so that deleting a dataset or a set can give its pages
    // back to the disk (reclaimSpace) without rewriting the whole file.
    if (!opts.readonly && (db.pragma('page_count', { simple: true }) as number) === 0) {
      db.pragma('page_size = 16384');
      db.pragma('auto_vacuum = INCREMENTAL');
    }
    if (!opts.readonly) db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    if (!opts.skipIntegrityCheck) {
      const rows = db.pragma('integrity_check') as { integrity_check: string }[];
      const result = rows.map((r) => r.integrity_check).join('; ');
      if (result !== 'ok') {
        throw new LabError(
          'db_corrupt',
          `The database ${file} failed its integrity check (${result.slice(0, 300)}). ` +
            'Restore it from a backup, or start with a new file (--db PATH or DINOLAB_DB).',
        );
      }
    }
    if (!opts.readonly) migrate(db);
  } catch (err) {
    db.close();
    if (err instanceof LabError) throw err;
    const msg = (err as Error).message;
    if (/not a database|malformed|file is encrypted/i.test(msg)) {
      throw new LabError(
        'db_corrupt',
        `${file} is not a usable DINO Lab database (${msg}). Point --db / DINOLAB_DB at another file, or move this one away.`,
      );
    }
    throw err;
  }
  return db;
}

/**
 * Under Electron, better-sqlite3 must be the copy that setup built for Electron's ABI
 * (build/electron-native); Node (web host, CLI, tests) uses the regular one.
 */
function nativeBindingOption(): { nativeBinding?: string } {
  if (!process.versions.electron) return {};
  const candidates = [
    process.env.DINOLAB_SQLITE_BINDING,
    path.join(process.cwd(), 'build/electron-native/better-sqlite3/build/Release/better_sqlite3.node'),
    path.join(process.env.DINOLAB_APP_ROOT ?? '', 'build/electron-native/better-sqlite3/build/Release/better_sqlite3.node'),
  ];
  const found = candidates.find((c) => c && fs.existsSync(c));
  return found ? { nativeBinding: found } : {};
}

/** Applies the migrations newer than `PRAGMA user_version`, each in its own transaction. */
export function migrate(db: Db): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const latest = migrations[migrations.length - 1]!.version;
  if (current > latest) {
    throw new LabError(
      'db_corrupt',
      `This database was written by a newer DINO Lab (schema ${current}, this build knows ${latest}). Update DINO Lab.`,
    );
  }
  for (const m of migrations) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return db.pragma('user_version', { simple: true }) as number;
}

/** The SQLite library's version, e.g. '3.50.2'. */
/**
 * Gives the pages freed by a delete back to the disk: the file shrinks. Files made with incremental
 * auto-vacuum release their free pages at once; an older file is converted by one VACUUM when `mayRewrite`
 * (no job is writing), else it keeps its free pages for later rows. Returns the bytes given back.
 */
export function reclaimSpace(db: Db, file: string, mayRewrite: boolean): number {
  const size = (): number => {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  };
  const before = size();
  try {
    if ((db.pragma('auto_vacuum', { simple: true }) as number) === 2) db.pragma('incremental_vacuum');
    else if (mayRewrite) {
      db.pragma('auto_vacuum = INCREMENTAL');
      db.exec('VACUUM');
    }
    db.pragma('wal_checkpoint(TRUNCATE)');
  } catch {
    /* busy (another connection reads): the free pages are reused by later rows instead */
  }
  return Math.max(0, before - size());
}

export function sqliteVersion(db: Db): string {
  return (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
}

/** Folds the WAL back into the database file and truncates it (a busy reader may make it throw or stop early). */
export function checkpointWal(db: Db): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
}

/** Reads a float32 BLOB without copying (the Buffer's bytes are viewed as float32). */
export function blobToF32(buf: Buffer, dim?: number): Float32Array {
  const n = dim ?? buf.byteLength / 4;
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, n);
  const out = new Float32Array(n);
  new Uint8Array(out.buffer).set(buf.subarray(0, n * 4));
  return out;
}

/** A float32 array as a BLOB (no copy). */
export function f32ToBlob(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

/** Now as an ISO 8601 timestamp, the form every `*_at` column stores. */
export function nowIso(): string {
  return new Date().toISOString();
}
