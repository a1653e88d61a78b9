import fs from 'node:fs';
import { Parser, type ReadEntry } from 'tar';
import { LabError } from '../errors';

/** Options for reading selected entries of a tar or tar.gz archive into memory. */
export interface TarReadOptions {
  /** Largest single entry accepted, by its declared size (default 1 GiB). */
  maxEntryBytes?: number;
  /** Most bytes kept in memory over all wanted entries (default 3 GiB). */
  maxTotalBytes?: number;
  signal?: AbortSignal;
  /** Called as the compressed file is read. */
  onBytes?: (done: number, total: number) => void;
}

const GZIP_MAGIC = [0x1f, 0x8b];

/** True when a path inside an archive could escape the folder it would be extracted to. */
export function isUnsafeEntryPath(p: string): boolean {
  if (p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p)) return true;
  return p.split(/[\\/]+/).some((seg) => seg === '..');
}

/**
 * Streams a .tar.gz (or plain .tar) and returns the wanted regular files by their path in the archive,
 * never writing to disk. Unsafe entries (absolute paths, `..`, links, devices, huge sizes) refuse the
 * whole archive, since an archive carrying them is not an official dataset file.
 */
export async function readTarEntries(
  file: string,
  want: (entryPath: string) => boolean,
  opts: TarReadOptions = {},
): Promise<Map<string, Buffer>> {
  const maxEntry = opts.maxEntryBytes ?? 1024 ** 3;
  const maxTotal = opts.maxTotalBytes ?? 3 * 1024 ** 3;
  const name = file.split(/[\\/]/).pop() ?? file;
  let size: number;
  try {
    size = fs.statSync(file).size;
  } catch {
    throw new LabError('not_found', `The archive ${file} does not exist or cannot be read.`);
  }
  const head = Buffer.alloc(512);
  const fd = fs.openSync(file, 'r');
  let headLen: number;
  try {
    headLen = fs.readSync(fd, head, 0, 512, 0);
  } finally {
    fs.closeSync(fd);
  }
  const gz = headLen >= 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  const tarMagic = headLen >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  if (!gz && !tarMagic) {
    throw new LabError(
      'corrupt_archive',
      `${name} is not a .tar.gz archive (it does not start with the gzip or tar signature). ` +
        'Download the archive again, or import the extracted folder instead.',
    );
  }

  const out = new Map<string, Buffer>();
  let total = 0;
  return new Promise<Map<string, Buffer>>((resolve, reject) => {
    let settled = false;
    const stream = fs.createReadStream(file, { highWaterMark: 1 << 20 });
    const parser = new Parser({ strict: true, maxDecompressionRatio: 50 });
    const finish = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      opts.signal?.removeEventListener('abort', onAbort);
      if (err) {
        stream.destroy();
        parser.abort(err instanceof Error ? err : new Error(String(err)));
        reject(err);
      } else resolve(out);
    };
    const corrupt = (detail: string): LabError =>
      new LabError(
        'corrupt_archive',
        `${name} is truncated or corrupt (${detail}). Download it again (the official md5 checks it) or import the extracted folder.`,
      );
    const onAbort = (): void => finish(new LabError('cancelled', 'Cancelled.'));
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    if (opts.signal?.aborted) return onAbort();

    parser.on('entry', (entry: ReadEntry) => {
      if (settled) return entry.resume();
      const p = entry.path;
      if (isUnsafeEntryPath(p)) {
        return finish(new LabError('bad_format', `${name} refused: the entry '${p.slice(0, 200)}' has an absolute path or '..', which could write outside the import folder. This is not an official dataset archive.`));
      }
      const t = entry.type;
      if (t === 'SymbolicLink' || t === 'Link') {
        return finish(new LabError('bad_format', `${name} refused: the entry '${p.slice(0, 200)}' is a ${t === 'Link' ? 'hard link' : 'symlink'} (to '${String(entry.linkpath ?? '').slice(0, 200)}'); dataset archives hold plain files only.`));
      }
      if (t !== 'File' && t !== 'OldFile' && t !== 'ContiguousFile' && t !== 'Directory') {
        return finish(new LabError('bad_format', `${name} refused: the entry '${p.slice(0, 200)}' is a ${t}; dataset archives hold plain files only.`));
      }
      const declared = entry.size ?? 0;
      if (declared > maxEntry) {
        return finish(new LabError('bad_format', `${name} refused: the entry '${p.slice(0, 200)}' declares ${declared} bytes, more than the ${Math.round(maxEntry / 1024 ** 2)} MiB limit for one file.`));
      }
      if (t === 'Directory' || !want(p)) return entry.resume();
      total += declared;
      if (total > maxTotal) {
        return finish(new LabError('bad_format', `${name} refused: its files add up to more than ${Math.round(maxTotal / 1024 ** 3)} GiB.`));
      }
      const data = Buffer.allocUnsafe(declared);
      let at = 0;
      entry.on('data', (chunk: Buffer) => {
        if (at + chunk.length > declared) return finish(corrupt(`entry '${p}' is longer than its header says`));
        chunk.copy(data, at);
        at += chunk.length;
      });
      entry.on('end', () => {
        if (at !== declared) return finish(corrupt(`entry '${p}' holds ${at} of its ${declared} bytes`));
        out.set(p, data);
      });
    });
    parser.on('error', (err: Error & { code?: string }) => {
      if (settled) return;
      const msg = err.message ?? String(err);
      finish(corrupt(msg.replace(/^TAR_\w+:\s*/, '').slice(0, 200)));
    });
    parser.on('end', () => finish());
    let read = 0;
    stream.on('data', (chunk: Buffer | string) => {
      read += chunk.length;
      opts.onBytes?.(read, size);
    });
    stream.on('error', (err) => finish(new LabError('not_found', `Cannot read ${file}: ${err.message}`)));
    stream.pipe(parser as unknown as NodeJS.WritableStream);
  });
}
