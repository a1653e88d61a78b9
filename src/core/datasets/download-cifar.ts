import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { downloadFile, type DownloadProgress } from '../net/download';

/** The official CIFAR python archives and their published md5 values. */
export const CIFAR_DOWNLOADS = {
  cifar10: { url: 'https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz', md5: 'c58f30108f718f92721af3b95e74349a', file: 'cifar-10-python.tar.gz' },
  cifar100: { url: 'https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz', md5: 'eb9058c3a382ffc7106e4002c42a8d85', file: 'cifar-100-python.tar.gz' },
} as const;

/** Options of downloadCifar. */
export interface DownloadCifarOptions {
  signal?: AbortSignal;
  onProgress?: (p: DownloadProgress) => void;
  fetchImpl?: typeof fetch;
  /** Overrides the URL (mirrors, tests); the md5 check stays. */
  url?: string;
}

async function md5Of(file: string): Promise<string> {
  const h = createHash('md5');
  for await (const c of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** Downloads the official CIFAR-10/100 python archive into cacheDir (reusing a verified copy) and returns its path. */
export async function downloadCifar(which: 'cifar10' | 'cifar100', cacheDir: string, opts: DownloadCifarOptions = {}): Promise<string> {
  const d = CIFAR_DOWNLOADS[which];
  const dest = path.join(cacheDir, d.file);
  if (fs.existsSync(dest) && (await md5Of(dest)) === d.md5) return dest;
  const advice =
    `Without internet access: download ${d.url} on another computer, copy ${d.file} here, and import it ` +
    `with Datasets > Import file or \`dinolab import cifar ${d.file}\` (an extracted ${which === 'cifar10' ? 'cifar-10-batches-py' : 'cifar-100-python'} folder works too).`;
  const r = await downloadFile(opts.url ?? d.url, dest, { md5: d.md5, signal: opts.signal, onProgress: opts.onProgress, fetchImpl: opts.fetchImpl, offlineAdvice: advice });
  return r.path;
}
