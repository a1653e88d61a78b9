/**
 * Child process of the fuzz suite (tests/faults/fuzz.test.ts): runs `count` seeded mutation cases of one
 * target and reports each case's start and end over IPC, so the parent can kill it on a hang (even a
 * synchronous one) and name the case. Targets: 'cifar-bin' (CIFAR-10 binary records), 'pickle' (CIFAR-10
 * python batches), 'folder' (image-folder importer). Every case must end in a dataset or a LabError.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { openDatabase } from '../../src/core/db/database';
import { LabError } from '../../src/core/errors';
import { importDataset, type ImportSource } from '../../src/core/datasets/import';
import { deleteDataset } from '../../src/core/datasets/queries';
import { CIFAR10_CLASSES, cifar10BatchPickle, cifar10MetaPickle } from '../../src/core/datasets/testing/cifar-archive';
import { mulberry32 } from '../../src/core/math/prng';

type Target = 'cifar-bin' | 'pickle' | 'folder';
const [target, seedArg, countArg, dirArg] = process.argv.slice(2) as [Target, string, string, string];
const seed = Number(seedArg);
const count = Number(countArg);
const send = (m: unknown): Promise<void> => new Promise((r) => process.send!(m, undefined, undefined, () => r()));

// The fuzzer's own mutations come from the shared seeded PRNG.
const rnd = mulberry32(seed);
const int = (n: number): number => Math.floor(rnd() * n);

/** Offsets of length fields worth corrupting in each format. */
function lengthFields(buf: Buffer, kind: Target): { at: number; width: number }[] {
  const out: { at: number; width: number }[] = [];
  if (kind === 'pickle') {
    for (let i = 0; i < buf.length - 5; i++) {
      const op = buf[i]!;
      if (op === 0x54 || op === 0x42 || op === 0x58) out.push({ at: i + 1, width: 4 }); // BINSTRING, BINBYTES, BINUNICODE
      else if (op === 0x55 || op === 0x43 || op === 0x8c) out.push({ at: i + 1, width: 1 }); // SHORT_BINSTRING, SHORT_BINBYTES, SHORT_BINUNICODE
    }
  } else if (kind === 'folder') {
    // PNG chunks: 4-byte big-endian length before each type; IHDR width/height at 16 and 20.
    if (buf.subarray(1, 4).toString('latin1') === 'PNG') {
      let p = 8;
      while (p + 8 <= buf.length) {
        out.push({ at: p, width: 4 });
        p += 12 + buf.readUInt32BE(p);
      }
      out.push({ at: 16, width: 4 }, { at: 20, width: 4 });
    } else {
      // JPEG segments: FF xx then a 2-byte length.
      for (let i = 0; i < buf.length - 3; i++) if (buf[i] === 0xff && buf[i + 1]! >= 0xc0 && buf[i + 1]! !== 0xff) out.push({ at: i + 2, width: 2 });
    }
  } else {
    // Binary CIFAR has no length fields: the label byte of each 3,073-byte record stands in for one.
    for (let i = 0; i < buf.length; i += 3073) out.push({ at: i, width: 1 });
  }
  return out;
}

/** One to four mutations: bit flips, insert, delete, truncate, length-field corruption. */
function mutate(src: Buffer, kind: Target): { buf: Buffer; ops: string[] } {
  let buf = Buffer.from(src);
  const ops: string[] = [];
  const n = 1 + int(4);
  for (let k = 0; k < n; k++) {
    const m = int(5);
    if (m === 0) {
      const flips = 1 + int(8);
      for (let f = 0; f < flips; f++) {
        const i = int(buf.length);
        buf[i] = buf[i]! ^ (1 << int(8));
      }
      ops.push(`flip${flips}`);
    } else if (m === 1) {
      const at = int(buf.length + 1);
      const ins = Buffer.from(Array.from({ length: 1 + int(16) }, () => int(256)));
      buf = Buffer.concat([buf.subarray(0, at), ins, buf.subarray(at)]);
      ops.push(`ins${ins.length}@${at}`);
    } else if (m === 2) {
      const at = int(buf.length);
      const len = 1 + int(Math.min(64, buf.length - at));
      buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + len)]);
      ops.push(`del${len}@${at}`);
    } else if (m === 3) {
      const len = int(buf.length);
      buf = buf.subarray(0, len);
      ops.push(`trunc${len}`);
    } else {
      const fields = lengthFields(buf, kind);
      if (!fields.length) continue;
      const f = fields[int(fields.length)]!;
      const values = [0, 1, 0xff, 0x7fffffff, 0xffffffff, int(2 ** 32)];
      const v = values[int(values.length)]!;
      for (let b = 0; b < f.width && f.at + b < buf.length; b++) buf[f.at + b] = (v >>> (8 * (f.width - 1 - b))) & 255;
      ops.push(`len@${f.at}=${v}`);
    }
  }
  return { buf, ops };
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(dirArg || os.tmpdir(), `fuzz-${target}-`));
  const db = openDatabase(path.join(dir, 'fuzz.db'));
  let source: ImportSource;
  let files: string[];
  if (target === 'cifar-bin') {
    const base = path.join(dir, 'cifar-10-batches-bin');
    fs.mkdirSync(base);
    files = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'].map((n, b) => {
      const buf = Buffer.alloc(20 * 3073);
      for (let i = 0; i < buf.length; i++) buf[i] = i % 3073 === 0 ? (i / 3073 + b) % 10 : (i * 7 + b) & 255;
      fs.writeFileSync(path.join(base, n), buf);
      return path.join(base, n);
    });
    fs.writeFileSync(path.join(base, 'batches.meta.txt'), CIFAR10_CLASSES.join('\n') + '\n\n');
    source = { type: 'cifar', path: base };
  } else if (target === 'pickle') {
    const base = path.join(dir, 'cifar-10-batches-py');
    fs.mkdirSync(base);
    files = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'].map((n, b) => {
      const labels = Array.from({ length: 10 }, (_, i) => (i + b) % 10);
      const data = new Uint8Array(10 * 3072).map((_, i) => (i * 13 + b) & 255);
      fs.writeFileSync(path.join(base, n), cifar10BatchPickle(`batch ${b}`, labels, data, CIFAR10_CLASSES));
      return path.join(base, n);
    });
    files.push(path.join(base, 'batches.meta'));
    fs.writeFileSync(files.at(-1)!, cifar10MetaPickle(CIFAR10_CLASSES, 10));
    source = { type: 'cifar', path: base };
  } else {
    const base = path.join(dir, 'images');
    files = [];
    for (const cls of ['cat', 'dog']) {
      fs.mkdirSync(path.join(base, cls), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const img = sharp({ create: { width: 24 + i * 8, height: 20 + i * 4, channels: 3, background: { r: i * 80, g: cls === 'cat' ? 200 : 30, b: 90 } } });
        const f = path.join(base, cls, `img${i}.${i === 2 ? 'jpg' : 'png'}`);
        fs.writeFileSync(f, i === 2 ? await img.jpeg().toBuffer() : await img.png().toBuffer());
        files.push(f);
      }
    }
    source = { type: 'folder', path: base, badImages: 'error' };
  }
  const originals = new Map(files.map((f) => [f, fs.readFileSync(f)]));
  const rssStart = process.memoryUsage().rss;
  let rssMax = rssStart;
  for (let i = 0; i < count; i++) {
    const victim = files[int(files.length)]!;
    const { buf, ops } = mutate(originals.get(victim)!, target);
    fs.writeFileSync(victim, buf);
    const src: ImportSource = target === 'folder' ? { ...(source as Extract<ImportSource, { type: 'folder' }>), badImages: i % 2 ? 'skip' : 'error' } : source;
    await send({ type: 'start', i, file: path.basename(victim), ops: ops.join(',') });
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('case timed out after 5 s')), 5000);
    });
    let outcome: { kind: 'dataset' | 'laberror' | 'other'; code?: string; message?: string };
    try {
      const r = await Promise.race([importDataset(db, src, { name: `case ${i}` }), timeout]);
      outcome = { kind: 'dataset' };
      deleteDataset(db, r.datasetId);
    } catch (err) {
      outcome = err instanceof LabError ? { kind: 'laberror', code: err.code, message: err.message } : { kind: 'other', message: String((err as Error)?.stack ?? err) };
    } finally {
      clearTimeout(timer);
    }
    fs.writeFileSync(victim, originals.get(victim)!);
    rssMax = Math.max(rssMax, process.memoryUsage().rss);
    await send({ type: 'end', i, ms: performance.now() - t0, ...outcome });
  }
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
  await send({ type: 'summary', rssStart, rssMax });
  process.exit(0);
}

void main().catch(async (err: unknown) => {
  await send({ type: 'crash', message: String((err as Error)?.stack ?? err) });
  process.exit(1);
});
