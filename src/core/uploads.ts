/**
 * Files uploaded through the API (uploads.put for imports, probe.start's images): stored under the data
 * directory in a fresh folder each, within a per-upload and a total limit, removed once the job that
 * consumes them ends, and swept at start-up when a host died before that.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from './errors';

export const UPLOAD_DIRS = ['uploads', 'probes'] as const;
export type UploadDir = (typeof UPLOAD_DIRS)[number];

export interface UploadLimits {
  /** Largest single upload, in bytes (decoded). */
  perUploadBytes: number;
  /** Largest total of the uploads waiting under the data directory, in bytes. */
  totalBytes: number;
  /** Uploads older than this are removed when a Lab starts. */
  maxAgeMs: number;
}

export const DEFAULT_UPLOAD_LIMITS: UploadLimits = { perUploadBytes: 48 * 1024 * 1024, totalBytes: 1024 * 1024 * 1024, maxAgeMs: 24 * 3600 * 1000 };

const mb = (n: number): string => `${(n / 1024 ** 2).toFixed(1)} MB`;

function sizeOf(dir: string): number {
  let total = 0;
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) total += sizeOf(p);
    else if (e.isFile()) total += fs.statSync(p, { throwIfNoEntry: false })?.size ?? 0;
  }
  return total;
}

/** A file name safe to create: the last part of `name`, odd characters replaced, never '.', '..' or empty. */
export function safeUploadName(name: string): string {
  const safe = path.basename(name).replace(/[^\w.-]+/g, '_').slice(-120);
  return /^\.*$/.test(safe) ? 'upload' : safe;
}

/** Stores one upload in `<dataDir>/<sub>/<uuid>/<safe name>`; refuses it, leaving nothing, past a limit. */
export function storeUpload(dataDir: string, sub: UploadDir, name: string, dataBase64: string, limits: UploadLimits = DEFAULT_UPLOAD_LIMITS): { path: string; bytes: number } {
  // Base64 is 4 characters per 3 bytes: refuse before decoding anything too large.
  const estimate = Math.floor((dataBase64.length * 3) / 4);
  if (estimate > limits.perUploadBytes + 2) {
    throw new LabError('invalid_input', `${name} is ${mb(estimate)}; an upload is limited to ${mb(limits.perUploadBytes)}. Give its path instead.`);
  }
  const bytes = Buffer.from(dataBase64, 'base64');
  if (bytes.length === 0) throw new LabError('invalid_input', `${name} is empty.`);
  if (bytes.length > limits.perUploadBytes) {
    throw new LabError('invalid_input', `${name} is ${mb(bytes.length)}; an upload is limited to ${mb(limits.perUploadBytes)}. Give its path instead.`);
  }
  const waiting = UPLOAD_DIRS.reduce((s, d) => s + sizeOf(path.join(dataDir, d)), 0);
  if (waiting + bytes.length > limits.totalBytes) {
    throw new LabError(
      'conflict',
      `Uploads waiting to be used take ${mb(waiting)}; with ${name} (${mb(bytes.length)}) they would pass the ${mb(limits.totalBytes)} allowed. Let the running imports finish, or restart DINO Lab to clear old uploads.`,
    );
  }
  const dir = path.join(dataDir, sub, crypto.randomUUID());
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, safeUploadName(name));
  try {
    fs.writeFileSync(file, bytes);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { path: file, bytes: bytes.length };
}

/** Removes the upload folder holding `file` when it is one of ours (an import from an upload is over). */
export function removeUpload(dataDir: string, file: string): boolean {
  for (const sub of UPLOAD_DIRS) {
    const root = path.resolve(dataDir, sub);
    const rel = path.relative(root, path.resolve(file));
    const first = rel.split(path.sep)[0];
    if (rel && first && first !== '..' && !path.isAbsolute(rel) && rel.includes(path.sep)) {
      fs.rmSync(path.join(root, first), { recursive: true, force: true });
      return true;
    }
  }
  return false;
}

/** Removes upload folders older than `maxAgeMs` (left by a host that died before its job ended). */
export function sweepUploads(dataDir: string, maxAgeMs = DEFAULT_UPLOAD_LIMITS.maxAgeMs, now = Date.now()): string[] {
  const removed: string[] = [];
  for (const sub of UPLOAD_DIRS) {
    const root = path.join(dataDir, sub);
    let names: string[];
    try {
      names = fs.readdirSync(root);
    } catch {
      continue;
    }
    for (const n of names) {
      const p = path.join(root, n);
      const st = fs.lstatSync(p, { throwIfNoEntry: false });
      if (st && now - st.mtimeMs > maxAgeMs) {
        fs.rmSync(p, { recursive: true, force: true });
        removed.push(p);
      }
    }
  }
  return removed;
}
