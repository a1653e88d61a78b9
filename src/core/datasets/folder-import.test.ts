import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../db/database';
import { LabError } from '../errors';
import { importDataset, type ImportSource } from './import';
import { getDataset, listSamples, loadSampleRGB, sampleThumbnail } from './queries';
import { bombPng } from './testing/bad-images';

const projectRoot = path.resolve(import.meta.dirname, '../../..');
const images = path.resolve(projectRoot, '../shared/fixtures/images');

let tmp: string;
let db: Db;

const solid = (w: number, h: number, rgb: [number, number, number]): Promise<Buffer> =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } }).png().toBuffer();

async function makeFolder(name: string, spec: Record<string, number>, size = 40): Promise<string> {
  const root = path.join(tmp, name);
  let k = 0;
  for (const [cls, n] of Object.entries(spec)) {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    for (let i = 0; i < n; i++) {
      k++;
      fs.writeFileSync(path.join(root, cls, `img${String(i).padStart(3, '0')}.png`), await solid(size, size, [k % 256, (k * 7) % 256, (k * 13) % 256]));
    }
  }
  return root;
}

function rows(): { datasets: number; samples: number } {
  return {
    datasets: (db.prepare('SELECT COUNT(*) AS n FROM datasets').get() as { n: number }).n,
    samples: (db.prepare('SELECT COUNT(*) AS n FROM samples').get() as { n: number }).n,
  };
}

async function expectRefused(source: ImportSource, code: string, fragment: string | RegExp): Promise<void> {
  const before = rows();
  const err = await importDataset(db, source, { name: `refused ${Math.random()}` }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe(code);
  if (typeof fragment === 'string') expect((err as LabError).message).toContain(fragment);
  else expect((err as LabError).message).toMatch(fragment);
  expect(rows()).toEqual(before);
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-folder-'));
  db = openDatabase(path.join(tmp, 'lab.db'));
});
afterAll(() => {
  db?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('image folders', () => {
  it('root/<class>/*: seeded stratified split, path, sha256, size, thumbnail', async () => {
    const root = await makeFolder('pets', { cat: 10, dog: 5, bird: 20 });
    const r = await importDataset(db, { type: 'folder', path: root });
    expect(r.name).toBe('pets');
    // round(n * 0.2) per class: 2 + 1 + 4 test images
    expect(r.counts).toEqual({ train: 28, test: 7 });
    const s = getDataset(db, r.datasetId);
    expect(s.kind).toBe('folder');
    expect(s.classes).toEqual(['bird', 'cat', 'dog']);
    expect(s.perClass).toEqual({ train: [16, 8, 4], test: [4, 2, 1] });
    const row = db.prepare("SELECT path, sha256, width, height, thumb, pixels FROM samples WHERE dataset_id = ? AND path = 'cat/img003.png'").get(r.datasetId) as {
      path: string;
      sha256: string;
      width: number;
      height: number;
      thumb: Buffer;
      pixels: Buffer | null;
    };
    expect(row.sha256).toBe(createHash('sha256').update(fs.readFileSync(path.join(root, 'cat', 'img003.png'))).digest('hex'));
    expect([row.width, row.height, row.pixels]).toEqual([40, 40, null]);
    const thumbMeta = await sharp(row.thumb).metadata();
    expect(thumbMeta.format).toBe('jpeg');
    expect(db.prepare('SELECT root FROM datasets WHERE id = ?').pluck().get(r.datasetId)).toBe(root);

    // Same seed, same split; another seed, another split (same per-class counts).
    const splitOf = async (name: string, seed: number): Promise<string> => {
      const x = await importDataset(db, { type: 'folder', path: root, seed }, { name });
      return (db.prepare("SELECT group_concat(path || ':' || split) FROM (SELECT path, split FROM samples WHERE dataset_id = ? ORDER BY path)").pluck().get(x.datasetId) as string);
    };
    const a = await splitOf('pets seed0', 0);
    expect(await splitOf('pets seed0 again', 0)).toBe(a);
    expect(await splitOf('pets seed9', 9)).not.toBe(a);
  });

  it('testFraction is honoured', async () => {
    const root = await makeFolder('tf', { a: 10, b: 10 }, 8);
    const r = await importDataset(db, { type: 'folder', path: root, testFraction: 0.5 });
    expect(r.counts).toEqual({ train: 10, test: 10 });
  });

  it('root/train/<class> + root/test/<class> as given; 32x32 images keep their pixels', async () => {
    const root = path.join(tmp, 'given');
    for (const [split, n] of [['train', 3], ['test', 2]] as const) {
      for (const cls of ['x', 'y']) {
        fs.mkdirSync(path.join(root, split, cls), { recursive: true });
        for (let i = 0; i < n; i++) fs.writeFileSync(path.join(root, split, cls, `${i}.png`), await solid(32, 32, cls === 'x' ? [255, 0, 0] : [0, 0, 255]));
      }
    }
    const r = await importDataset(db, { type: 'folder', path: root });
    expect(r.counts).toEqual({ train: 6, test: 4 });
    const s = getDataset(db, r.datasetId);
    expect(s.perClass).toEqual({ train: [3, 3], test: [2, 2] });
    const item = listSamples(db, { datasetId: r.datasetId, split: 'test', label: 1, offset: 0, limit: 10 }).items[0]!;
    expect(item.source).toBe('test/y/0.png');
    const px = db.prepare('SELECT pixels FROM samples WHERE id = ?').pluck().get(item.id) as Buffer;
    expect(px.length).toBe(3072);
    expect([px[0], px[1], px[2]]).toEqual([0, 0, 255]);
    const thumb = await sampleThumbnail(db, item.id);
    expect(thumb.mime).toBe('image/png');
    const tm = await sharp(thumb.data).metadata();
    expect([tm.width, tm.height]).toEqual([64, 64]);
  });

  it('EXIF orientation is applied; greyscale and RGBA decode to RGB', async () => {
    const root = path.join(tmp, 'exif');
    fs.mkdirSync(path.join(root, 'a'), { recursive: true });
    fs.mkdirSync(path.join(root, 'b'), { recursive: true });
    // 60x20 pixels stored, orientation 6 (rotate 90° clockwise to view): shown as 20x60.
    const rotated = await sharp({ create: { width: 60, height: 20, channels: 3, background: '#ff0000' } }).jpeg().withMetadata({ orientation: 6 }).toBuffer();
    fs.writeFileSync(path.join(root, 'a', 'rot.jpg'), rotated);
    fs.copyFileSync(path.join(images, 'img02_100x80_L.png'), path.join(root, 'b', 'grey.png'));
    fs.copyFileSync(path.join(images, 'img03_640x480_RGBA.png'), path.join(root, 'b', 'rgba.png'));
    const r = await importDataset(db, { type: 'folder', path: root, testFraction: 0 });
    const get = (p: string): { id: number; width: number; height: number } =>
      db.prepare('SELECT id, width, height FROM samples WHERE dataset_id = ? AND path = ?').get(r.datasetId, p) as { id: number; width: number; height: number };
    const rot = get('a/rot.jpg');
    expect([rot.width, rot.height]).toEqual([20, 60]);
    const rotRgb = await loadSampleRGB(db, rot.id);
    expect([rotRgb.width, rotRgb.height, rotRgb.data.length]).toEqual([20, 60, 20 * 60 * 3]);
    const grey = await loadSampleRGB(db, get('b/grey.png').id);
    expect([grey.width, grey.height, grey.data.length]).toEqual([100, 80, 100 * 80 * 3]);
    // Independent reference: the same pixel read with sharp's own greyscale output, replicated.
    const ref = await sharp(path.join(images, 'img02_100x80_L.png')).extractChannel(0).raw().toBuffer();
    expect([grey.data[3 * 1234], grey.data[3 * 1234 + 1], grey.data[3 * 1234 + 2]]).toEqual([ref[1234], ref[1234], ref[1234]]);
    const rgba = await loadSampleRGB(db, get('b/rgba.png').id);
    expect(rgba.data.length).toBe(640 * 480 * 3);
    const thumb = await sampleThumbnail(db, get('b/rgba.png').id);
    expect(thumb.mime).toBe('image/jpeg');
  });
});

describe('bad folder input', () => {
  let root: string;
  beforeAll(async () => {
    root = await makeFolder('mixed', { a: 4, b: 4 }, 16);
  });
  const addBad = (dir: string, name: string, data: Buffer | string): void => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, name), data);
  };

  it('non-images are skipped and counted, or an error, as the caller chooses', async () => {
    const dir = path.join(tmp, 'skipme');
    fs.cpSync(root, dir, { recursive: true });
    addBad(path.join(dir, 'a'), 'notes.txt', 'just text');
    addBad(path.join(dir, 'b'), 'empty.png', Buffer.alloc(0));
    const r = await importDataset(db, { type: 'folder', path: dir, badImages: 'skip' });
    expect(r.skipped).toBe(2);
    expect(r.counts.train + r.counts.test).toBe(8);
    const meta = JSON.parse(db.prepare('SELECT meta FROM datasets WHERE id = ?').pluck().get(r.datasetId) as string) as { skipped: { path: string }[] };
    expect(meta.skipped.map((s) => s.path)).toEqual(['a/notes.txt', 'b/empty.png']);
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'a/notes.txt is not an image');
  });

  it('empty image file', async () => {
    const dir = path.join(tmp, 'emptyimg');
    fs.cpSync(root, dir, { recursive: true });
    addBad(path.join(dir, 'a'), 'zero.jpg', Buffer.alloc(0));
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'a/zero.jpg is empty (0 bytes)');
  });

  it('truncated image', async () => {
    const dir = path.join(tmp, 'truncimg');
    fs.cpSync(root, dir, { recursive: true });
    const full = fs.readFileSync(path.join(images, 'img05_300x500_RGB.png'));
    addBad(path.join(dir, 'b'), 'cut.png', full.subarray(0, Math.floor(full.length / 2)));
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'b/cut.png is damaged or truncated');
  });

  it('SVG is refused', async () => {
    const dir = path.join(tmp, 'svg');
    fs.cpSync(root, dir, { recursive: true });
    addBad(path.join(dir, 'a'), 'vector.svg', '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><image href="file:///etc/passwd"/></svg>');
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'a/vector.svg is an SVG: vector images are refused');
    // Renamed to .png it is still recognised as SVG by its content.
    fs.renameSync(path.join(dir, 'a', 'vector.svg'), path.join(dir, 'a', 'vector.png'));
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'a/vector.png is an SVG');
  });

  it('a 30000x30000 image header is refused as a decompression bomb', async () => {
    const dir = path.join(tmp, 'bomb');
    fs.cpSync(root, dir, { recursive: true });
    addBad(path.join(dir, 'b'), 'bomb.png', bombPng());
    await expectRefused({ type: 'folder', path: dir, badImages: 'error' }, 'bad_image', 'b/bomb.png declares more than 100 megapixels: refused as a possible decompression bomb');
  });

  it('an empty class folder', async () => {
    const dir = path.join(tmp, 'emptyclass');
    fs.cpSync(root, dir, { recursive: true });
    fs.mkdirSync(path.join(dir, 'c'));
    await expectRefused({ type: 'folder', path: dir }, 'bad_format', "The class folder 'c' is empty");
  });

  it('a class folder with only non-images (skip mode)', async () => {
    const dir = path.join(tmp, 'onlybad');
    fs.cpSync(root, dir, { recursive: true });
    addBad(path.join(dir, 'c'), 'readme.txt', 'hello');
    await expectRefused({ type: 'folder', path: dir, badImages: 'skip' }, 'bad_format', "The class folder 'c' has no readable images");
  });

  it('a folder without class folders, and a missing folder', async () => {
    const dir = path.join(tmp, 'flat');
    addBad(dir, 'x.png', await solid(8, 8, [1, 2, 3]));
    await expectRefused({ type: 'folder', path: dir }, 'bad_format', 'has no class folders');
    await expectRefused({ type: 'folder', path: path.join(tmp, 'does-not-exist') }, 'not_found', 'does not exist');
  });

  it('a used name is refused before any decoding', async () => {
    await importDataset(db, { type: 'folder', path: root }, { name: 'taken' });
    await expect(importDataset(db, { type: 'folder', path: path.join(tmp, 'does-not-exist') }, { name: 'taken' })).rejects.toMatchObject({ code: 'conflict' });
  });
});
