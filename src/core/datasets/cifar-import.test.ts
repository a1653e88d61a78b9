import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { x as tarExtract } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database';
import { LabError } from '../errors';
import { importDataset, type ImportSource } from './import';
import { PyDict, intList, unpickle, type NdArray } from './pickle';
import { getDataset } from './queries';
import { tarGzBytes, type TarEntrySpec } from './testing/cifar-archive';

const projectRoot = path.resolve(import.meta.dirname, '../../..');
const fixtures = path.resolve(projectRoot, '../shared/fixtures/cifar');
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as {
  cifar10: { train: number; test: number; fingerprint: string; train_label_counts: number[] };
  cifar100: { train: number; test: number; fingerprint: string };
};

let tmp: string;
let db: Db;
let extracted: string;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-cifar-'));
  db = openDatabase(path.join(tmp, 'lab.db'));
  extracted = path.join(tmp, 'extracted');
  fs.mkdirSync(extracted);
  for (const f of ['cifar-10-python.tar.gz', 'cifar-10-binary.tar.gz', 'cifar-100-python.tar.gz']) {
    await tarExtract({ file: path.join(fixtures, f), cwd: extracted });
  }
  // No CIFAR-100 binary fixture exists: write one from the python fixture's raw records
  // (coarse byte, fine byte, 3,072 CHW pixel bytes), the layout of cifar-100-binary.tar.gz.
  const py = path.join(extracted, 'cifar-100-python');
  const meta = unpickle(fs.readFileSync(path.join(py, 'meta'))) as PyDict;
  const names = (k: string): string => (meta.get(k) as { text(): string }[]).map((b) => b.text()).join('\n') + '\n';
  const entries: TarEntrySpec[] = [];
  for (const split of ['train', 'test']) {
    const d = unpickle(fs.readFileSync(path.join(py, split))) as PyDict;
    const fine = intList(d.get('fine_labels'), 'fine');
    const coarse = intList(d.get('coarse_labels'), 'coarse');
    const data = (d.get('data') as NdArray).data as Uint8Array;
    const out = Buffer.alloc(fine.length * 3074);
    for (let i = 0; i < fine.length; i++) {
      out[i * 3074] = coarse[i]!;
      out[i * 3074 + 1] = fine[i]!;
      out.set(data.subarray(i * 3072, (i + 1) * 3072), i * 3074 + 2);
    }
    entries.push({ name: `cifar-100-binary/${split}.bin`, data: out });
  }
  entries.push({ name: 'cifar-100-binary/fine_label_names.txt', data: Buffer.from(names('fine_label_names')) });
  entries.push({ name: 'cifar-100-binary/coarse_label_names.txt', data: Buffer.from(names('coarse_label_names')) });
  fs.writeFileSync(path.join(tmp, 'cifar-100-binary.tar.gz'), tarGzBytes(entries));
  await tarExtract({ file: path.join(tmp, 'cifar-100-binary.tar.gz'), cwd: extracted });
});

afterAll(() => {
  db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

function rows(): { datasets: number; samples: number } {
  return {
    datasets: (db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n,
    samples: (db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n,
  };
}

async function expectRefused(source: ImportSource, code: string, fragment: string | RegExp, name = 'bad'): Promise<void> {
  const before = rows();
  let err: unknown;
  try {
    await importDataset(db, source, { name });
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe(code);
  if (typeof fragment === 'string') expect((err as LabError).message).toContain(fragment);
  else expect((err as LabError).message).toMatch(fragment);
  expect(rows()).toEqual(before);
}

describe('CIFAR imports match expected.json', () => {
  const cases: [string, () => string, 'cifar10' | 'cifar100'][] = [
    ['CIFAR-10 python .tar.gz', () => path.join(fixtures, 'cifar-10-python.tar.gz'), 'cifar10'],
    ['CIFAR-10 binary .tar.gz', () => path.join(fixtures, 'cifar-10-binary.tar.gz'), 'cifar10'],
    ['CIFAR-100 python .tar.gz', () => path.join(fixtures, 'cifar-100-python.tar.gz'), 'cifar100'],
    ['CIFAR-100 binary .tar.gz (written from the python fixture)', () => path.join(tmp, 'cifar-100-binary.tar.gz'), 'cifar100'],
    ['cifar-10-batches-py folder', () => path.join(extracted, 'cifar-10-batches-py'), 'cifar10'],
    ['cifar-10-batches-bin folder', () => path.join(extracted, 'cifar-10-batches-bin'), 'cifar10'],
    ['cifar-100-python folder', () => path.join(extracted, 'cifar-100-python'), 'cifar100'],
    ['cifar-100-binary folder', () => path.join(extracted, 'cifar-100-binary'), 'cifar100'],
  ];
  cases.forEach(([label, p, variant], i) => {
    it(label, async () => {
      const r = await importDataset(db, { type: 'cifar', path: p() }, { name: `case ${i}` });
      const exp = expected[variant];
      expect(r.counts).toEqual({ train: exp.train, test: exp.test });
      expect(r.fingerprint).toBe(exp.fingerprint);
      const s = getDataset(db, r.datasetId);
      expect(s.kind).toBe(variant);
      expect(s.fingerprint).toBe(exp.fingerprint);
      expect(s.classes.length).toBe(variant === 'cifar10' ? 10 : 100);
      if (variant === 'cifar10') {
        expect(s.perClass.train).toEqual(expected.cifar10.train_label_counts);
        expect(s.classes).toEqual(['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
      }
      const first = db.prepare('SELECT source, pixels, split, width, height FROM samples WHERE dataset_id = ? ORDER BY idx LIMIT 1').get(r.datasetId) as {
        source: string;
        pixels: Buffer;
        split: string;
        width: number;
        height: number;
      };
      expect(first.source).toMatch(/^(data_batch_1|train)(\.bin)?#0$/);
      expect([first.split, first.width, first.height, first.pixels.length]).toEqual(['train', 32, 32, 3072]);
    });
  });

  it('stores pixels as HWC: pixel (row, col) channel c = CHW byte c*1024 + row*32 + col of the file', async () => {
    const raw = unpickle(fs.readFileSync(path.join(extracted, 'cifar-10-batches-py', 'test_batch'))) as PyDict;
    const chw = ((raw.get('data') as NdArray).data as Uint8Array).subarray(3 * 3072, 4 * 3072);
    const id = (db.prepare("SELECT id FROM datasets WHERE name = 'case 0'").get() as { id: number }).id;
    const px = (db.prepare("SELECT pixels FROM samples WHERE dataset_id = ? AND source = 'test_batch#3'").get(id) as { pixels: Buffer }).pixels;
    for (const [r, c] of [[0, 0], [5, 17], [31, 31]] as const) {
      for (let ch = 0; ch < 3; ch++) expect(px[(r * 32 + c) * 3 + ch]).toBe(chw[ch * 1024 + r * 32 + c]);
    }
  });

  it('CIFAR-100 coarse labels on request, with the default name', async () => {
    const r = await importDataset(db, { type: 'cifar', path: path.join(fixtures, 'cifar-100-python.tar.gz'), coarse: true });
    expect(r.name).toBe('CIFAR-100 (coarse)');
    expect(r.fingerprint).toBe(expected.cifar100.fingerprint);
    const s = getDataset(db, r.datasetId);
    expect(s.classes.length).toBe(20);
    const raw = unpickle(fs.readFileSync(path.join(extracted, 'cifar-100-python', 'train'))) as PyDict;
    const coarse = intList(raw.get('coarse_labels'), 'coarse');
    const counts = new Array(20).fill(0);
    for (const c of coarse) counts[c]++;
    expect(s.perClass.train).toEqual(counts);
  });

  it('default names: CIFAR-10 and CIFAR-100 (fine); a used name is refused before any work', async () => {
    const a = await importDataset(db, { type: 'cifar', path: path.join(fixtures, 'cifar-10-python.tar.gz') });
    expect(a.name).toBe('CIFAR-10');
    const b = await importDataset(db, { type: 'cifar', path: path.join(fixtures, 'cifar-100-python.tar.gz') });
    expect(b.name).toBe('CIFAR-100 (fine)');
    await expectRefused({ type: 'cifar', path: path.join(fixtures, 'cifar-10-binary.tar.gz') }, 'conflict', "A dataset named 'CIFAR-10' already exists", 'CIFAR-10');
    // Before any work: even a path that does not exist gives the conflict.
    await expectRefused({ type: 'cifar', path: path.join(tmp, 'nope.tar.gz') }, 'conflict', 'already exists', 'CIFAR-10');
  });
});

describe('bad CIFAR input leaves no rows', () => {
  const write = (name: string, data: Uint8Array): string => {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, data);
    return f;
  };
  const fixture = (f: string): Buffer => fs.readFileSync(path.join(fixtures, f));

  it('truncated archive', async () => {
    const b = fixture('cifar-10-python.tar.gz');
    await expectRefused({ type: 'cifar', path: write('trunc.tar.gz', b.subarray(0, Math.floor(b.length / 2))) }, 'corrupt_archive', 'truncated or corrupt');
  });

  it('corrupt gzip data', async () => {
    const b = Buffer.from(fixture('cifar-10-python.tar.gz'));
    for (let i = 5000; i < 5100; i++) b[i] = b[i]! ^ 0x5a;
    await expectRefused({ type: 'cifar', path: write('corrupt.tar.gz', b) }, 'corrupt_archive', /truncated or corrupt \(zlib: /);
  });

  it('random bytes named .tar.gz', async () => {
    const b = Buffer.alloc(100_000);
    for (let i = 0; i < b.length; i++) b[i] = (i * 2654435761) >>> 24;
    await expectRefused({ type: 'cifar', path: write('random.tar.gz', b) }, 'corrupt_archive', 'does not start with the gzip or tar signature');
  });

  it('entry with ../ path', async () => {
    const f = write('dotdot.tar.gz', tarGzBytes([{ name: 'cifar-10-batches-py/../../evil', data: Buffer.from('x') }]));
    await expectRefused({ type: 'cifar', path: f }, 'bad_format', "entry 'cifar-10-batches-py/../../evil' has an absolute path or '..'");
  });

  it('entry with an absolute path', async () => {
    const f = write('abs.tar.gz', tarGzBytes([{ name: '/etc/cron.d/evil', data: Buffer.from('x') }]));
    await expectRefused({ type: 'cifar', path: f }, 'bad_format', "entry '/etc/cron.d/evil' has an absolute path");
  });

  it('symlink entry', async () => {
    const f = write('link.tar.gz', tarGzBytes([{ name: 'cifar-10-batches-py/data_batch_1', type: '2', linkname: '/etc/passwd' }]));
    await expectRefused({ type: 'cifar', path: f }, 'bad_format', "is a symlink (to '/etc/passwd')");
  });

  it('entry declaring an enormous size', async () => {
    const f = write('huge.tar.gz', tarGzBytes([{ name: 'cifar-10-batches-py/data_batch_1', data: Buffer.alloc(10), declaredSize: 8 * 1024 ** 3 - 1 }]));
    await expectRefused({ type: 'cifar', path: f }, 'bad_format', /declares 8589934591 bytes, more than the 1024 MiB limit/);
  });

  it('binary batch whose length is not a multiple of 3,073', async () => {
    const dir = path.join(tmp, 'badlen', 'cifar-10-batches-bin');
    fs.cpSync(path.join(extracted, 'cifar-10-batches-bin'), dir, { recursive: true });
    fs.appendFileSync(path.join(dir, 'data_batch_3.bin'), Buffer.from([1, 2, 3]));
    await expectRefused({ type: 'cifar', path: dir }, 'bad_format', 'data_batch_3.bin is 61463 bytes, not a multiple of the 3,073-byte CIFAR-10 record');
  });

  it('binary label outside the class list', async () => {
    const dir = path.join(tmp, 'badlabel', 'cifar-10-batches-bin');
    fs.cpSync(path.join(extracted, 'cifar-10-batches-bin'), dir, { recursive: true });
    const f = path.join(dir, 'test_batch.bin');
    const b = fs.readFileSync(f);
    b[3073 * 7] = 12;
    fs.writeFileSync(f, b);
    await expectRefused({ type: 'cifar', path: dir }, 'bad_format', 'test_batch.bin: label 12 of image 7 is outside the 10 classes (0-9)');
  });

  it('python label outside the class list', async () => {
    const dir = path.join(tmp, 'badpylabel', 'cifar-10-batches-py');
    fs.cpSync(path.join(extracted, 'cifar-10-batches-py'), dir, { recursive: true });
    const f = path.join(dir, 'data_batch_2');
    const b = fs.readFileSync(f);
    // The labels list starts with BININT1 opcodes ('K', value): set the first label to 10.
    const at = b.indexOf(Buffer.from('labels')) + 6 + 2 + 1 + 2 + 1;
    expect(b[at]).toBe(0x4b);
    b[at + 1] = 10;
    fs.writeFileSync(f, b);
    await expectRefused({ type: 'cifar', path: dir }, 'bad_format', 'data_batch_2: label 10 of image 0 is outside the 10 classes');
  });

  it('python batch with a GLOBAL other than numpy inside an archive: refused, nothing executed', async () => {
    const marker = path.join(tmp, 'pwned-by-archive');
    const evil = Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`cos\nsystem\n(S'touch ${marker}'\ntR.`, 'latin1')]);
    const entries: TarEntrySpec[] = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'].map((n) => ({
      name: `cifar-10-batches-py/${n}`,
      data: fs.readFileSync(path.join(extracted, 'cifar-10-batches-py', n)),
    }));
    entries[0] = { name: 'cifar-10-batches-py/data_batch_1', data: evil };
    entries.push({ name: 'cifar-10-batches-py/batches.meta', data: fs.readFileSync(path.join(extracted, 'cifar-10-batches-py', 'batches.meta')) });
    const f = write('evil.tar.gz', tarGzBytes(entries));
    await expectRefused({ type: 'cifar', path: f }, 'pickle_refused', 'refused GLOBAL os.system');
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('an archive that is not CIFAR', async () => {
    const f = write('other.tar.gz', tarGzBytes([{ name: 'photos/a.txt', data: Buffer.from('hi') }]));
    await expectRefused({ type: 'cifar', path: f }, 'bad_format', 'is not a CIFAR-10/100 dataset');
  });

  it('a CIFAR folder with a batch missing', async () => {
    const dir = path.join(tmp, 'missing', 'cifar-10-batches-py');
    fs.cpSync(path.join(extracted, 'cifar-10-batches-py'), dir, { recursive: true });
    fs.rmSync(path.join(dir, 'data_batch_4'));
    await expectRefused({ type: 'cifar', path: dir }, 'bad_format', 'data_batch_4 is missing');
  });

  it('a plain .tar (not gzipped) is read too', async () => {
    const f = write('plain.tar', zlib.gunzipSync(fixture('cifar-10-binary.tar.gz')));
    const r = await importDataset(db, { type: 'cifar', path: f }, { name: 'plain tar' });
    expect(r.fingerprint).toBe(expected.cifar10.fingerprint);
  });
});

describe('transactions', () => {
  it('a full disk rolls back the whole import (SQLITE_FULL -> disk_full)', async () => {
    const file = path.join(tmp, 'small.db');
    const small = openDatabase(file);
    try {
      const pages = small.pragma('page_count', { simple: true }) as number;
      // 120 CIFAR rows need ~25 pages of 16 KiB (~120 of 4 KiB): leave room for a third of them.
      const pageSize = small.pragma('page_size', { simple: true }) as number;
      small.pragma(`max_page_count = ${pages + Math.ceil((120 * 3100) / pageSize / 3)}`);
      const count = (): number[] => ['datasets', 'samples'].map((t) => (small.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n);
      const before = count();
      const err = await importDataset(small, { type: 'cifar', path: path.join(fixtures, 'cifar-10-python.tar.gz') }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(LabError);
      expect((err as LabError).code).toBe('disk_full');
      expect((err as LabError).message).toContain('rolled back, nothing was kept');
      expect(count()).toEqual(before);
      expect(small.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      small.close();
    }
  });

  it('a cancelled import leaves nothing', async () => {
    const before = rows();
    const ac = new AbortController();
    const p = importDataset(db, { type: 'cifar', path: path.join(fixtures, 'cifar-100-python.tar.gz') }, { name: 'cancelled', signal: ac.signal, onProgress: () => ac.abort() });
    const err = await p.catch((e: unknown) => e);
    expect((err as LabError).code).toBe('cancelled');
    expect(rows()).toEqual(before);
  });
});
