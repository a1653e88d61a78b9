import { createHash, type Hash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LabError } from '../errors';

/** Progress of a download: bytes done and expected (0 when unknown), rate in bytes/s, ETA in seconds. */
export interface DownloadProgress {
  done: number;
  total: number;
  ratePerSec: number;
  etaSec: number;
}

/** Options of downloadFile. */
export interface DownloadOptions {
  md5?: string;
  sha256?: string;
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  fetchImpl?: typeof fetch;
  /** Appended to the offline message, e.g. how to import a local copy instead. */
  offlineAdvice?: string;
  /** Attempts after a dropped connection, each resuming where the last stopped (default 3). */
  retries?: number;
}

const OFFLINE_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ENETUNREACH', 'EHOSTUNREACH', 'ENETDOWN', 'UND_ERR_CONNECT_TIMEOUT']);

function causeCode(err: unknown): string | undefined {
  let e = err as { code?: string; cause?: unknown } | undefined;
  for (let i = 0; i < 5 && e; i++) {
    if (typeof e.code === 'string' && e.code !== 'UND_ERR_SOCKET') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

async function hashExisting(file: string, hashes: Hash[]): Promise<number> {
  let n = 0;
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const h of hashes) h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

/**
 * Downloads `url` to `dest` through `dest.part`, resuming a previous .part with an HTTP Range request,
 * verifying md5/sha256 before the rename. A cancel keeps the .part so the next call resumes it.
 */
export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<{ path: string; bytes: number; md5: string; sha256: string }> {
  const fetchImpl = opts.fetchImpl ?? fetch;
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(path.resolve(dest)), { recursive: true });
  const retries = opts.retries ?? 3;
  let attempt = 0;
  for (;;) {
    try {
      return await attemptDownload(url, dest, part, fetchImpl, opts);
    } catch (err) {
      const retryable = err instanceof LabError && err.code === 'download_failed' && (err.details as { retry?: boolean } | undefined)?.retry === true;
      if (!retryable || attempt >= retries || opts.signal?.aborted) {
        if (err instanceof LabError) throw err;
        throw new LabError('download_failed', `Downloading ${url} failed: ${(err as Error).message}`);
      }
      attempt++;
      await new Promise((r) => setTimeout(r, 200 * attempt));
    }
  }
}

async function attemptDownload(
  url: string,
  dest: string,
  part: string,
  fetchImpl: typeof fetch,
  opts: DownloadOptions,
): Promise<{ path: string; bytes: number; md5: string; sha256: string }> {
  const md5 = createHash('md5');
  const sha = createHash('sha256');
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const headers: Record<string, string> = {};
  if (have > 0) headers.Range = `bytes=${have}-`;
  let res: Response;
  try {
    res = await fetchImpl(url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (err) {
    if (opts.signal?.aborted || (err as Error).name === 'AbortError') throw new LabError('cancelled', 'Download cancelled; run it again to resume.');
    const code = causeCode(err);
    if (code && OFFLINE_CODES.has(code)) {
      throw new LabError(
        'offline',
        `Cannot reach ${new URL(url).host} (${code}): this computer looks offline. ` +
          (opts.offlineAdvice ?? 'Download the file on a computer with internet access and import the local copy instead.'),
      );
    }
    throw new LabError('download_failed', `Downloading ${url} failed: ${(err as Error).message}`, { retry: true });
  }
  let append = false;
  if (res.status === 206 && have > 0) {
    const m = /^bytes (\d+)-/.exec(res.headers.get('content-range') ?? '');
    if (!m || Number(m[1]) !== have) {
      // A range we did not ask for: restart from zero rather than splice mismatched bytes.
      await res.body?.cancel();
      fs.rmSync(part, { force: true });
      throw new LabError('download_failed', `The server answered an unexpected range for ${url}; restarting.`, { retry: true });
    }
    append = true;
  } else if (res.status === 416 && have > 0) {
    await res.body?.cancel();
    fs.rmSync(part, { force: true });
    throw new LabError('download_failed', `The partial download of ${url} no longer matches the server's file; restarting.`, { retry: true });
  } else if (res.status !== 200) {
    await res.body?.cancel();
    throw new LabError('download_failed', `The server answered ${res.status} ${res.statusText} for ${url}.`, { retry: res.status >= 500 });
  }
  if (append) have = await hashExisting(part, [md5, sha]);
  else have = 0;
  const len = Number(res.headers.get('content-length') ?? NaN);
  const total = Number.isFinite(len) ? have + len : 0;
  const fh = await fs.promises.open(part, append ? 'a' : 'w');
  let done = have;
  const start = Date.now();
  let lastReport = 0;
  const report = (force: boolean): void => {
    const now = Date.now();
    if (!opts.onProgress || (!force && now - lastReport < 100)) return;
    lastReport = now;
    const secs = Math.max(1e-3, (now - start) / 1000);
    const rate = (done - have) / secs;
    opts.onProgress({ done, total, ratePerSec: rate, etaSec: total && rate > 0 ? Math.max(0, (total - done) / rate) : 0 });
  };
  try {
    if (!res.body) throw new Error('empty response body');
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      md5.update(chunk);
      sha.update(chunk);
      await fh.write(chunk);
      done += chunk.length;
      report(false);
    }
  } catch (err) {
    await fh.close();
    if (opts.signal?.aborted) throw new LabError('cancelled', 'Download cancelled; run it again to resume.');
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOSPC') throw new LabError('disk_full', `The disk is full while downloading to ${part}: free some space and run it again to resume.`);
    throw new LabError('download_failed', `The connection dropped after ${done} of ${total || '?'} bytes of ${url}: run it again to resume.`, { retry: true });
  }
  await fh.close();
  report(true);
  if (total && done !== total) {
    throw new LabError('download_failed', `The download of ${url} stopped at ${done} of ${total} bytes: run it again to resume.`, { retry: true });
  }
  const gotMd5 = md5.digest('hex');
  const gotSha = sha.digest('hex');
  const check = (kind: string, expected: string | undefined, actual: string): void => {
    if (expected && expected.toLowerCase() !== actual) {
      fs.rmSync(part, { force: true });
      throw new LabError('bad_checksum', `${path.basename(dest)} failed its ${kind} check: expected ${expected.toLowerCase()}, got ${actual}. The damaged download was removed; try again.`, {
        expected,
        actual,
      });
    }
  };
  check('md5', opts.md5, gotMd5);
  check('sha256', opts.sha256, gotSha);
  fs.renameSync(part, dest);
  return { path: dest, bytes: done, md5: gotMd5, sha256: gotSha };
}
