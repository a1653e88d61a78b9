import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { downloadCifar } from '../datasets/download-cifar';
import { LabError } from '../errors';
import { downloadFile, type DownloadProgress } from './download';

const body = Buffer.alloc(3 * 1024 * 1024);
for (let i = 0; i < body.length; i++) body[i] = (i * 31 + (i >> 10)) & 255;
const md5 = createHash('md5').update(body).digest('hex');
const sha256 = createHash('sha256').update(body).digest('hex');

let server: http.Server;
let base: string;
let tmp: string;
const seen: { url: string; range: string | undefined }[] = [];
let cutNext = 0; // cut the connection after this many bytes on the next full response
let ignoreRange = false;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-dl-'));
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', range: req.headers.range });
    if (req.url === '/missing') {
      res.writeHead(404).end();
      return;
    }
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (m && !ignoreRange) {
      start = Number(m[1]);
      res.writeHead(206, { 'Content-Length': body.length - start, 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else res.writeHead(200, { 'Content-Length': body.length });
    const slice = body.subarray(start);
    if (cutNext > 0) {
      const n = cutNext;
      cutNext = 0;
      res.write(slice.subarray(0, n), () => setTimeout(() => res.destroy(), 20));
      return;
    }
    res.end(slice);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  fs.rmSync(tmp, { recursive: true, force: true });
});
beforeEach(() => {
  seen.length = 0;
  cutNext = 0;
  ignoreRange = false;
});

describe('downloadFile (local server on 127.0.0.1)', () => {
  it('downloads, verifies md5 and sha256, reports progress, renames the .part', async () => {
    const dest = path.join(tmp, 'a.bin');
    const progress: DownloadProgress[] = [];
    const r = await downloadFile(`${base}/file`, dest, { md5, sha256, onProgress: (p) => progress.push(p) });
    expect(r).toMatchObject({ path: dest, bytes: body.length, md5, sha256 });
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    const last = progress[progress.length - 1]!;
    expect([last.done, last.total]).toEqual([body.length, body.length]);
    expect(last.ratePerSec).toBeGreaterThan(0);
  });

  it('resumes after the connection is cut midway, with a Range request', async () => {
    const dest = path.join(tmp, 'b.bin');
    cutNext = 1024 * 1024;
    const r = await downloadFile(`${base}/file`, dest, { md5 });
    expect(r.md5).toBe(md5);
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
    expect(seen[0]!.range).toBeUndefined();
    expect(seen[1]!.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/\d+/.exec(seen[1]!.range!)![0])).toBeGreaterThan(0);
  });

  it('resumes an existing .part from an earlier run', async () => {
    const dest = path.join(tmp, 'c.bin');
    fs.writeFileSync(`${dest}.part`, body.subarray(0, 1_000_000));
    const r = await downloadFile(`${base}/file`, dest, { md5, retries: 0 });
    expect(r.md5).toBe(md5);
    expect(seen.map((s) => s.range)).toEqual(['bytes=1000000-']);
  });

  it('starts over when the server ignores Range (200)', async () => {
    const dest = path.join(tmp, 'd.bin');
    fs.writeFileSync(`${dest}.part`, Buffer.alloc(5000, 7));
    ignoreRange = true;
    const r = await downloadFile(`${base}/file`, dest, { md5, retries: 0 });
    expect(r.bytes).toBe(body.length);
    expect(fs.readFileSync(dest).equals(body)).toBe(true);
  });

  it('a wrong checksum names expected and actual and removes the .part', async () => {
    const dest = path.join(tmp, 'e.bin');
    const wrong = '0'.repeat(32);
    const err = await downloadFile(`${base}/file`, dest, { md5: wrong }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LabError);
    expect((err as LabError).code).toBe('bad_checksum');
    expect((err as LabError).message).toContain(`expected ${wrong}, got ${md5}`);
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    expect(fs.existsSync(dest)).toBe(false);
  });

  it('offline (DNS failure) fails at once with the advice', async () => {
    const dnsFail: typeof fetch = () => Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }) }));
    const err = await downloadFile('https://www.cs.toronto.edu/~kriz/x.tar.gz', path.join(tmp, 'f.bin'), { fetchImpl: dnsFail, offlineAdvice: 'Import a local copy.' }).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('offline');
    expect((err as LabError).message).toContain('www.cs.toronto.edu (ENOTFOUND)');
    expect((err as LabError).message).toContain('Import a local copy.');
  });

  it('a refused connection on 127.0.0.1 is reported as offline', async () => {
    const s = http.createServer();
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    const port = (s.address() as AddressInfo).port;
    await new Promise((r) => s.close(r));
    const err = await downloadFile(`http://127.0.0.1:${port}/x`, path.join(tmp, 'g.bin'), {}).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('offline');
  });

  it('HTTP errors and cancel', async () => {
    const err = await downloadFile(`${base}/missing`, path.join(tmp, 'h.bin'), {}).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('download_failed');
    expect((err as LabError).message).toContain('404');
    const ac = new AbortController();
    ac.abort();
    const c = await downloadFile(`${base}/file`, path.join(tmp, 'i.bin'), { signal: ac.signal }).catch((e: unknown) => e);
    expect((c as LabError).code).toBe('cancelled');
  });
});

describe('downloadCifar', () => {
  it('uses the official URL and md5; offline gives import advice (no real network)', async () => {
    const urls: string[] = [];
    const offline: typeof fetch = (input) => {
      urls.push(String(input));
      return Promise.reject(Object.assign(new TypeError('fetch failed'), { cause: { code: 'EAI_AGAIN' } }));
    };
    const err = await downloadCifar('cifar10', tmp, { fetchImpl: offline }).catch((e: unknown) => e);
    expect(urls).toEqual(['https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz']);
    expect((err as LabError).code).toBe('offline');
    expect((err as LabError).message).toContain('dinolab import cifar cifar-10-python.tar.gz');
    await downloadCifar('cifar100', tmp, { fetchImpl: offline }).catch(() => undefined);
    expect(urls[1]).toBe('https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz');
  });

  it('checks the official md5 (a mirror serving other bytes fails)', async () => {
    const err = await downloadCifar('cifar10', tmp, { url: `${base}/file` }).catch((e: unknown) => e);
    expect((err as LabError).code).toBe('bad_checksum');
    expect((err as LabError).message).toContain('expected c58f30108f718f92721af3b95e74349a');
  });
});
