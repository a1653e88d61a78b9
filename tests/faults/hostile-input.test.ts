/**
 * Hostile and broken input through the Lab API and the CLI (issue 7). The parsers' own tests
 * (src/core/datasets/*.test.ts, images/decode.test.ts, backbones/inspect.test.ts) check the modules;
 * here the same kinds of input go through the calls a user makes (datasets.import, probe.start,
 * backbones.add, the `dinolab` command) and each case checks the message and that nothing was written.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../src/core/lab';
import { OnnxType } from '../../src/core/onnx/onnx-writer';
import { nanModel, oneNodeModel } from '../../src/core/backbones/tiny-models';
import { CIFAR10_CLASSES, cifar10BatchPickle, cifar10MetaPickle, tarGzBytes } from '../../src/core/datasets/testing/cifar-archive';
import { fixtures, tempDir } from '../helpers';
import { record } from './record';
import { cliBin, counts, listFiles, tmpEntries } from './util';
import { bombPng } from '../../src/core/datasets/testing/bad-images';

const t = tempDir('dinolab-hostile-');
const dbPath = path.join(t.dir, 'lab.db');
let lab: Lab;
let tmpBefore: Set<string>;

beforeAll(() => {
  tmpBefore = tmpEntries();
  lab = new Lab({ host: 'cli', dbPath, dataDir: t.dir });
});
afterAll(async () => {
  await lab.close();
  t.cleanup();
});

const file = (rel: string, data: Buffer | string | Uint8Array): string => {
  const f = path.join(t.dir, rel);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, data);
  return f;
};
const tables = ['datasets', 'samples', 'backbones', 'embedding_sets', 'embeddings', 'probes'];

/** Runs a job-starting call to its end and returns the job. */
async function runJob(name: 'datasets.import' | 'probe.start', input: unknown): Promise<{ status: string; error: string | null; result: unknown }> {
  const r = await lab.dispatch(name, input);
  if (!r.ok) throw new Error(`${name} refused at once: ${r.error.code} ${r.error.message}`);
  return lab.jobs.wait((r.result as { id: string }).id);
}

const png = fs.readFileSync(path.join(fixtures, 'images', 'img05_300x500_RGB.png'));
const BAD_IMAGES: { name: string; data: Buffer | string; folderMsg: string; probeMsg: RegExp }[] = [
  { name: 'empty.jpg', data: Buffer.alloc(0), folderMsg: 'is empty (0 bytes)', probeMsg: /empty\.jpg is empty/ },
  { name: 'cut.png', data: png.subarray(0, Math.floor(png.length / 2)), folderMsg: 'is damaged or truncated', probeMsg: /cut\.png: cut\.png (is truncated or corrupt|could not be decoded)/ },
  { name: 'notes.png', data: 'just some text, not pixels\n'.repeat(20), folderMsg: 'is not an image', probeMsg: /notes\.png: notes\.png is not a readable image/ },
  {
    name: 'vector.svg',
    data: '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>',
    folderMsg: 'is an SVG: vector images are refused',
    probeMsg: /vector\.svg: vector\.svg is an SVG \(vector\) image: convert it to PNG or JPEG first/,
  },
  { name: 'bomb.png', data: bombPng(), folderMsg: 'declares more than 100 megapixels: refused as a possible decompression bomb', probeMsg: /bomb\.png: bomb\.png is 30000x30000 \(900\.0 MP\), larger than the 100\.0 MP limit/ },
];

async function goodFolder(name: string): Promise<string> {
  const root = path.join(t.dir, name);
  for (const [k, cls] of ['a', 'b'].entries()) {
    for (let i = 0; i < 4; i++) {
      const img = await sharp({ create: { width: 16, height: 16, channels: 3, background: { r: 40 * i, g: 100 * k, b: 7 } } }).png().toBuffer();
      file(path.join(name, cls, `img${i}.png`), img);
    }
  }
  return root;
}

describe('images', () => {
  it('bad images in an imported folder: each one an error in error mode, all skipped and listed in skip mode', async () => {
    const before = counts(dbPath, tables);
    const seen: string[] = [];
    for (const bad of BAD_IMAGES) {
      const root = await goodFolder(`err-${bad.name}`);
      file(path.join(`err-${bad.name}`, 'b', bad.name), bad.data);
      const end = await runJob('datasets.import', { source: { type: 'folder', path: root, badImages: 'error' } });
      expect(end.status).toBe('failed');
      expect(end.error).toContain(`b/${bad.name} ${bad.folderMsg}`);
      seen.push(end.error!);
    }
    expect(counts(dbPath, tables)).toEqual(before);
    const root = await goodFolder('skip-all');
    for (const bad of BAD_IMAGES) file(path.join('skip-all', 'a', bad.name), bad.data);
    const end = await runJob('datasets.import', { source: { type: 'folder', path: root, badImages: 'skip' } });
    expect(end.status).toBe('done');
    expect(end.result).toMatchObject({ skipped: 5, counts: { train: expect.any(Number), test: expect.any(Number) } });
    const r = end.result as { datasetId: number; counts: { train: number; test: number } };
    expect(r.counts.train + r.counts.test).toBe(8);
    const meta = JSON.parse(lab.db.prepare('SELECT meta FROM datasets WHERE id = ?').pluck().get(r.datasetId) as string) as { skipped: { path: string }[] };
    expect(meta.skipped.map((s) => s.path).sort()).toEqual(BAD_IMAGES.map((b) => `a/${b.name}`).sort());
    lab.db.prepare('DELETE FROM datasets WHERE id = ?').run(r.datasetId);
    record({
      fault: 'datasets.import of class folders holding an empty, a truncated, a non-image, an SVG and a 30,000x30,000 PNG',
      outcome: `error mode: job failed each time (${seen.map((s) => `"${s}"`).join('; ')}); skip mode: 8 imported, 5 skipped and listed in meta`,
      checked: 'no rows written by the failed imports; skipped paths recorded',
    });
  });

  it('bad images dropped on probe.start: bad_image naming the file, no probe stored, upload removed', async () => {
    const ds = await runJob('datasets.import', { source: { type: 'sample', name: 'shapes10', train: 50, test: 20 }, name: 'probe-target' });
    const raw = (await lab.call('backbones.list', {})).find((b) => b.name === 'raw-pixels')!;
    const emb = await lab.jobs.wait(
      (await lab.call('embeddings.start', { datasetId: (ds.result as { datasetId: number }).datasetId, backboneId: raw.id, preset: 'resize-224', provider: 'cpu' })).id,
    );
    const setId = (emb.result as { setId: number }).setId;
    const before = counts(dbPath, ['probes']);
    const outcomes: string[] = [];
    for (const bad of BAD_IMAGES) {
      const b64 = Buffer.from(bad.data).toString('base64');
      if (!b64) {
        const r = await lab.dispatch('probe.start', { setId, images: [{ name: bad.name, dataBase64: b64 }] });
        expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
        expect(!r.ok && r.error.message).toMatch(/images\.0\.dataBase64: Too small/);
        outcomes.push(`${bad.name}: invalid_input`);
        continue;
      }
      const end = await runJob('probe.start', { setId, images: [{ name: bad.name, dataBase64: b64 }] });
      expect(end.status).toBe('failed');
      expect(end.error).toMatch(bad.probeMsg);
      outcomes.push(`${bad.name}: "${end.error}"`);
    }
    // Base64 that decodes to nothing is refused before a job starts.
    const r = await lab.dispatch('probe.start', { setId, images: [{ name: 'x.png', dataBase64: '====' }] });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid_input', message: 'x.png is empty.' } });
    expect(counts(dbPath, ['probes'])).toEqual(before);
    expect(listFiles(path.join(t.dir, 'probes'))).toEqual([]);
    record({
      fault: 'probe.start with an empty, a truncated, a non-image, an SVG and a 30,000x30,000 PNG, and base64 "===="',
      outcome: outcomes.join('; ') + '; "====": invalid_input "x.png is empty."',
      checked: 'no probes rows; no uploaded file left under probes/',
    });
  });
});

describe('ONNX models', () => {
  it('backbones.add refuses broken models with bad_model and adds no row', async () => {
    const cases: [string, Uint8Array, RegExp][] = [
      ['random bytes', new Uint8Array(4096).map((_, i) => (i * 7919 + 13) & 255), /is not an ONNX model DINO Lab can load/],
      ['wrong rank', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 3, 224] }, output: { name: 'y', shape: ['batch', 3, 224] } }), /has rank 3 \[batch, 3, 224\]; expected rank 4/],
      ['1 channel', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 1, 224, 224] }, output: { name: 'y', shape: ['batch', 1, 224, 224] } }), /has 1 channels; expected 3/],
      ['uint8 input', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', type: OnnxType.UINT8, shape: ['batch', 3, 8, 8] }, output: { name: 'y', type: OnnxType.UINT8, shape: ['batch', 3, 8, 8] } }), /is uint8; expected float32 or float16/],
      ['unusable output', oneNodeModel({ op: 'Identity', input: { name: 'pixel_values', shape: ['batch', 3, 8, 8] }, output: { name: 'y', shape: ['batch', 3, 8, 8] } }), /No usable output/],
      ['NaN output', nanModel(8), /non-finite value \(NaN or Inf\)/],
      ['empty file', new Uint8Array(0), /is empty \(0 bytes\): it is not an ONNX model/],
    ];
    const before = counts(dbPath, ['backbones']);
    const outcomes: string[] = [];
    for (const [label, bytes, msg] of cases) {
      const f = file(`models-bad/${label.replace(/[^a-z0-9]+/gi, '_')}.onnx`, bytes);
      const r = await lab.dispatch('backbones.add', { file: f });
      expect(r.ok, label).toBe(false);
      if (!r.ok) {
        expect(r.error.code, label).toBe('bad_model');
        expect(r.error.message, label).toMatch(msg);
        outcomes.push(`${label}: ${r.error.message.replaceAll(t.dir, '<tmp>')}`);
      }
    }
    const missing = await lab.dispatch('backbones.add', { file: path.join(t.dir, 'nope.onnx') });
    expect(missing).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(counts(dbPath, ['backbones'])).toEqual(before);
    record({
      fault: `backbones.add of ${cases.length} broken ONNX files (random bytes, rank 3, 1 channel, uint8 input, [B,3,8,8] output, NaN output, 0 bytes) and a missing file`,
      outcome: `bad_model each: ${outcomes.join(' | ')}; missing file: not_found`,
      checked: 'backbones row count unchanged',
    });
  });
});

describe('archives', () => {
  it('hostile CIFAR archives through datasets.import: refused, nothing written anywhere', async () => {
    const rnd = Buffer.alloc(100_000);
    for (let i = 0; i < rnd.length; i++) rnd[i] = (i * 2654435761) >>> 24;
    const cases: [string, Buffer, string | RegExp][] = [
      ['../ path', tarGzBytes([{ name: 'cifar-10-batches-py/../../evil-dotdot', data: Buffer.from('x') }]), "entry 'cifar-10-batches-py/../../evil-dotdot' has an absolute path or '..'"],
      ['absolute path', tarGzBytes([{ name: path.join(t.dir, 'evil-abs'), data: Buffer.from('x') }]), 'has an absolute path'],
      ['symlink', tarGzBytes([{ name: 'cifar-10-batches-py/data_batch_1', type: '2', linkname: '/etc/passwd' }]), "is a symlink (to '/etc/passwd')"],
      ['hard link', tarGzBytes([{ name: 'cifar-10-batches-py/data_batch_1', type: '1', linkname: '/etc/shadow' }]), /link|not a regular file/],
      ['enormous declared size', tarGzBytes([{ name: 'cifar-10-batches-py/data_batch_1', data: Buffer.alloc(10), declaredSize: 8 * 1024 ** 3 - 1 }]), /declares 8589934591 bytes, more than the 1024 MiB limit/],
      ['random bytes named .tar.gz', rnd, 'does not start with the gzip or tar signature'],
      ['truncated gzip', fs.readFileSync(path.join(fixtures, 'cifar/cifar-10-python.tar.gz')).subarray(0, 20_000), 'truncated or corrupt'],
    ];
    const before = counts(dbPath, tables);
    const outcomes: string[] = [];
    for (const [label, bytes, msg] of cases) {
      const f = file(`archives/${label.replace(/[^a-z0-9]+/gi, '_')}.tar.gz`, bytes);
      const end = await runJob('datasets.import', { source: { type: 'cifar', path: f } });
      expect(end.status, label).toBe('failed');
      if (typeof msg === 'string') expect(end.error, label).toContain(msg);
      else expect(end.error, label).toMatch(msg);
      outcomes.push(`${label}: "${end.error!.replaceAll(t.dir, '<tmp>')}"`);
    }
    expect(counts(dbPath, tables)).toEqual(before);
    for (const p of [path.resolve(t.dir, 'archives', '../../evil-dotdot'), path.resolve(t.dir, '../evil-dotdot'), path.join(t.dir, 'evil-abs')]) expect(fs.existsSync(p), p).toBe(false);
    record({
      fault: `datasets.import of ${cases.length} hostile archives (../ entry, absolute entry, symlink, hard link, 8 GiB declared entry, random bytes .tar.gz, truncated gzip)`,
      outcome: outcomes.join(' | '),
      checked: 'job failed each time; no rows; no file created at the entries\' target paths',
    });
  });

  it('pickles with GLOBALs that would run commands: refused, never executed', async () => {
    const tag = `dinolab-pwned-${process.pid}-${Date.now()}`;
    const markers = [path.join(t.dir, `${tag}-a`), path.join(os.tmpdir(), `${tag}-b`), path.join(t.dir, `${tag}-c`)];
    const labels = Array.from({ length: 10 }, (_, i) => i % 10);
    const data = new Uint8Array(10 * 3072).map((_, i) => i & 255);
    const goodBatch = cifar10BatchPickle('training batch', labels, data, CIFAR10_CLASSES);
    const sb = (s: string): Buffer => Buffer.concat([Buffer.from([0x8c, s.length]), Buffer.from(s)]);
    const variants: [string, Buffer, string][] = [
      ['GLOBAL os.system (protocol 2)', Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`cos\nsystem\n(S'touch ${markers[0]}'\ntR.`, 'latin1')]), 'refused GLOBAL os.system'],
      ['GLOBAL posix.system', Buffer.concat([Buffer.from([0x80, 0x02]), Buffer.from(`cposix\nsystem\n(S'touch ${markers[1]}'\ntR.`, 'latin1')]), 'refused GLOBAL posix.system'],
      ['STACK_GLOBAL subprocess.call (protocol 4)', Buffer.concat([Buffer.from([0x80, 0x04]), sb('subprocess'), sb('call'), Buffer.from([0x93]), sb(`touch ${markers[2]}`), Buffer.from([0x85, 0x52, 0x2e])]), 'refused GLOBAL subprocess.call'],
    ];
    const before = counts(dbPath, tables);
    const outcomes: string[] = [];
    for (const [label, evil, msg] of variants) {
      const dir = path.join(t.dir, `evil-${label.replace(/[^a-z0-9]+/gi, '_')}`, 'cifar-10-batches-py');
      fs.mkdirSync(dir, { recursive: true });
      for (const n of ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch']) fs.writeFileSync(path.join(dir, n), n === 'data_batch_3' ? evil : goodBatch);
      fs.writeFileSync(path.join(dir, 'batches.meta'), cifar10MetaPickle(CIFAR10_CLASSES, 10));
      const end = await runJob('datasets.import', { source: { type: 'cifar', path: dir } });
      expect(end.status, label).toBe('failed');
      expect(end.error, label).toContain(msg);
      outcomes.push(`${label}: "${end.error}"`);
    }
    for (const m of markers) expect(fs.existsSync(m), m).toBe(false);
    expect(counts(dbPath, tables)).toEqual(before);
    record({
      fault: 'CIFAR python folder whose data_batch_3 is a pickle calling os.system / posix.system / subprocess.call("touch <marker>")',
      outcome: outcomes.join(' | '),
      checked: 'marker files (in the test dir and in the system temp dir) never exist; no rows',
    });
  });
});

describe('arguments', () => {
  it('API calls with wrong types and out-of-range values: invalid_input naming the field, nothing created', async () => {
    const before = counts(dbPath, [...tables, 'jobs', 'runs']);
    const cases: [string, unknown, RegExp][] = [
      ['embeddings.start', { datasetId: 1, backboneId: 1, batchSize: 0 }, /batchSize: Too small/],
      ['embeddings.start', { datasetId: '1', backboneId: 1 }, /datasetId: Invalid input: expected number/],
      ['embeddings.start', { datasetId: 1, backboneId: 1, preset: 'fancy' }, /preset: Invalid option/],
      ['embeddings.start', { datasetId: 1, backboneId: 1, provider: 'tpu' }, /provider: Invalid option/],
      ['datasets.import', { source: { type: 'zip', path: '/x' } }, /source/],
      ['datasets.import', { source: { type: 'folder', path: '/x', testFraction: 0.95 } }, /testFraction: Too big/],
      ['datasets.import', { source: { type: 'sample', name: 'shapes10', train: 5 } }, /train: Too small/],
      ['datasets.import', { source: { type: 'cifar', path: '' } }, /path: Too small/],
      ['samples.list', { datasetId: 1, limit: 501 }, /limit: Too big/],
      ['runs.start', { setId: 1, kind: 'forest' }, /kind/],
      ['map.start', { setId: 1, n: 10 }, /n: Too small/],
      ['probe.start', { setId: 1, images: [] }, /images: Too small/],
      ['probe.start', { setId: 1, images: Array.from({ length: 17 }, () => ({ name: 'a.png', dataBase64: 'AA==' })) }, /images: Too big/],
      ['backbones.add', { file: 42 }, /file: Invalid input: expected string/],
      ['datasets.rename', { id: 1, name: '   ' }, /name: Too small/],
      ['jobs.get', null, /id: Invalid input: expected string/],
    ];
    for (const [name, input, msg] of cases) {
      const r = await lab.dispatch(name, input);
      expect(r.ok, name).toBe(false);
      if (!r.ok) {
        expect(r.error.code, `${name} ${JSON.stringify(input)}`).toBe('invalid_input');
        expect(r.error.message, `${name} ${JSON.stringify(input)}`).toMatch(msg);
        expect(r.error.message).not.toMatch(/\n\s+at /); // never a stack trace
      }
    }
    const unknown = await lab.dispatch('datasets.destroyAll', {});
    expect(unknown).toMatchObject({ ok: false, error: { code: 'not_found', message: 'Unknown call "datasets.destroyAll".' } });
    expect(counts(dbPath, [...tables, 'jobs', 'runs'])).toEqual(before);
    record({
      fault: `${cases.length} domain calls with wrong types / out-of-range values (batchSize 0, string ids, unknown preset/provider/kind, testFraction 0.95, 17 images, ...) and an unknown call`,
      outcome: 'invalid_input with "Invalid input for <call>: <field>: <reason>" each; unknown call: not_found',
      checked: 'no rows in datasets, samples, backbones, sets, embeddings, probes, jobs, runs; no stack traces',
    });
  });

  it('CLI arguments of wrong type / out of range: exit code and message on stderr', () => {
    const db = path.join(t.dir, 'cli.db');
    const cli = (...args: string[]): { status: number | null; stderr: string; stdout: string } =>
      spawnSync(process.execPath, [cliBin, '--db', db, ...args], { encoding: 'utf8', env: { ...process.env, DINOLAB_DATA_DIR: t.dir } });
    const cases: [string[], number, RegExp][] = [
      [['import', 'sample', 'shapes10', '--train', 'lots'], 1, /Error \(invalid_input\): --train must be a number, got "lots"\./],
      [['import', 'sample', 'shapes10', '--train', '5'], 1, /Error \(invalid_input\): Invalid input for datasets\.import: source\.train: Too small/],
      [['import', 'folder', t.dir, '--bad-images', 'ignore'], 1, /Error \(invalid_input\): --bad-images must be skip or error\./],
      [['import', 'zip', 'x'], 1, /Error \(invalid_input\): Usage: dinolab import/],
      [['serve', '--port', '70000'], 1, /Error \(invalid_input\): --port must be an integer 0-65535, got 70000\./],
      [['train', '--set', '1', '--model', 'forest'], 1, /Error \(invalid_input\): --model must be one of mlp, keras, svc, logreg, knn\./],
      [['embed', '--dataset', '1', '--backbone', '1'], 1, /Error \(not_found\): No dataset "1"/],
      [['selftest', '--steps', '-3'], 1, /invalid_input.*steps: Too small/],
      [['frobnicate'], 2, /Unknown command "frobnicate"/],
    ];
    const outcomes: string[] = [];
    for (const [args, code, msg] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toMatch(msg);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      outcomes.push(`\`${args.join(' ').replaceAll(t.dir, '<tmp>')}\` -> ${r.status}`);
    }
    expect(counts(db, ['datasets', 'jobs'])).toEqual({ datasets: 0, jobs: 0 });
    record({
      fault: `${cases.length} \`dinolab\` invocations with bad arguments`,
      outcome: outcomes.join('; ') + ' (each with "Error (<code>): <message>" on stderr)',
      checked: 'exit code and stderr message; no stack trace; no dataset or job created',
    });
  });
});

describe('cleanliness', () => {
  it('nothing was written outside the test directory', () => {
    // The system temp dir is shared with other processes (and the other fault files, which make their
    // own dinolab-* dirs), so look for what these cases could have produced there.
    const added = [...tmpEntries()].filter((e) => !tmpBefore.has(e));
    const ours = added.filter((e) => /evil|pwned|\.onnx$|\.png$|\.svg$|\.jpg$|\.tar|\.db$|cifar|batches/i.test(e));
    expect(ours).toEqual([]);
    expect(fs.existsSync('/etc/cron.d/evil')).toBe(false);
    record({
      fault: 'files these cases could have left outside their temp dir (archive entry targets, pickle markers, uploads, models)',
      outcome: `none (${added.length} unrelated new entries in the shared temp dir ignored)`,
      checked: 'os.tmpdir() listing before/after filtered for evil|pwned|images|models|archives|databases',
    });
  });
});
