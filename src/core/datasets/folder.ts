import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp, { type Sharp } from 'sharp';
import { LabError, throwIfAborted } from '../errors';
import { mulberry32, shuffleInPlace } from '../math/prng';

/** Decoding refuses images above this many pixels (decompression bombs). */
export const MAX_INPUT_PIXELS = 100_000_000;
/** Longest side of stored thumbnails. */
export const THUMB_SIZE = 96;

/** Options for reading an image folder. */
export interface FolderReadOptions {
  testFraction?: number;
  seed?: number;
  badImages?: 'skip' | 'error';
  signal?: AbortSignal;
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
  /** Images decoded at once (sharp decodes on its own thread pool). */
  concurrency?: number;
}

/** One image of a folder dataset, decoded and checked. */
export interface FolderSample {
  split: 'train' | 'test';
  label: number;
  /** Path relative to the root, with forward slashes. */
  path: string;
  sha256: string;
  width: number;
  height: number;
  /** JPEG thumbnail (longest side THUMB_SIZE), absent for 32x32 images, whose pixels are kept instead. */
  thumb: Buffer | null;
  /** HWC RGB bytes, only for 32x32 images. */
  pixels: Buffer | null;
}

/** A folder dataset read into memory. */
export interface FolderData {
  root: string;
  layout: 'class-folders' | 'train-test';
  classes: string[];
  samples: FolderSample[];
  skipped: { path: string; reason: string }[];
  /** sha256 over each sample in stored order: label byte, split byte (0 train, 1 test), the image's sha256. */
  fingerprint: string;
}

interface Candidate {
  split: 'train' | 'test';
  label: number;
  rel: string;
}

const isHidden = (n: string): boolean => n.startsWith('.') || n === '__MACOSX' || n === 'Thumbs.db' || n === 'desktop.ini';

function subdirs(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !isHidden(e.name))
    .map((e) => e.name)
    .sort();
}

function walkFiles(dir: string, out: string[]): void {
  for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    if (isHidden(e.name)) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walkFiles(p, out);
    else if (e.isFile() || e.isSymbolicLink()) out.push(p);
  }
}

const toRel = (root: string, p: string): string => path.relative(root, p).split(path.sep).join('/');

function looksLikeSvg(rel: string, head: Buffer): boolean {
  if (/\.svgz?$/i.test(rel)) return true;
  const s = head.subarray(0, 1024).toString('latin1').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  return s.startsWith('<?xml') || s.startsWith('<svg') || s.startsWith('<!doctype svg') || (s.startsWith('<') && s.includes('<svg'));
}

/** Reads `root/<class>/*` (split by a seeded, stratified draw) or `root/train/<class>/*` + `root/test/<class>/*`. */
export async function readImageFolder(root: string, opts: FolderReadOptions = {}): Promise<FolderData> {
  const testFraction = opts.testFraction ?? 0.2;
  if (!(testFraction >= 0 && testFraction < 1)) {
    throw new LabError('invalid_input', `testFraction must be at least 0 and below 1 (got ${testFraction}).`);
  }
  const badImages = opts.badImages ?? 'skip';
  let st: fs.Stats;
  try {
    st = fs.statSync(root);
  } catch {
    throw new LabError('not_found', `The folder ${root} does not exist.`);
  }
  if (!st.isDirectory()) throw new LabError('invalid_input', `${root} is not a folder; choose a folder holding one sub-folder per class.`);
  const abs = path.resolve(root);
  const top = subdirs(abs);
  const candidates: Candidate[] = [];
  let classes: string[];
  let layout: FolderData['layout'];
  const listClass = (dir: string, label: string, where: string): string[] => {
    const files: string[] = [];
    walkFiles(dir, files);
    if (files.length === 0) {
      throw new LabError('bad_format', `The class folder '${where}' is empty: put its images in it or remove it.`);
    }
    return files;
  };
  if (top.includes('train') && top.includes('test') && subdirs(path.join(abs, 'train')).length > 0) {
    layout = 'train-test';
    const trainC = subdirs(path.join(abs, 'train'));
    const testC = subdirs(path.join(abs, 'test'));
    classes = [...new Set([...trainC, ...testC])].sort();
    for (const split of ['train', 'test'] as const) {
      for (const c of split === 'train' ? trainC : testC) {
        const label = classes.indexOf(c);
        for (const f of listClass(path.join(abs, split, c), c, `${split}/${c}`)) candidates.push({ split, label, rel: toRel(abs, f) });
      }
    }
  } else {
    layout = 'class-folders';
    classes = top;
    if (classes.length === 0) {
      throw new LabError('bad_format', `${root} has no class folders: expected ${path.basename(abs)}/<class>/<images> or train/<class> and test/<class>.`);
    }
    const rand = mulberry32(opts.seed ?? 0);
    classes.forEach((c, label) => {
      const files = listClass(path.join(abs, c), c, c).map((f) => toRel(abs, f));
      const order = shuffleInPlace(files.map((_, i) => i), rand);
      const nTest = Math.round(files.length * testFraction);
      const isTest = new Set(order.slice(0, nTest));
      files.forEach((rel, i) => candidates.push({ split: isTest.has(i) ? 'test' : 'train', label, rel }));
    });
  }
  if (classes.length < 2) throw new LabError('bad_format', `${root} has only one class folder (${classes[0]}); a classifier needs at least two.`);

  const results: (FolderSample | null)[] = new Array(candidates.length).fill(null);
  const skipped: FolderData['skipped'] = [];
  let next = 0;
  let done = 0;
  // Workers stop at the first failure; every lower-numbered file was already started and finishes,
  // so reporting the lowest-numbered failure names the first bad file in path order, every time.
  const failures: { i: number; err: unknown }[] = [];
  const worker = async (): Promise<void> => {
    while (next < candidates.length && failures.length === 0) {
      const i = next++;
      const c = candidates[i]!;
      try {
        throwIfAborted(opts.signal);
        results[i] = await decodeOne(abs, c);
      } catch (err) {
        if (!(err instanceof LabError) || err.code !== 'bad_image' || badImages === 'error') {
          failures.push({ i, err });
          return;
        }
        skipped.push({ path: c.rel, reason: err.message });
      }
      done++;
      if (done % 50 === 0 || done === candidates.length) opts.onProgress?.({ phase: 'decoding', done, total: candidates.length });
    }
  };
  const n = Math.max(1, Math.min(opts.concurrency ?? 4, candidates.length));
  await Promise.all(Array.from({ length: n }, worker));
  if (failures.length) throw failures.sort((a, b) => a.i - b.i)[0]!.err;
  throwIfAborted(opts.signal);

  const samples: FolderSample[] = [];
  const perClass = new Array<number>(classes.length).fill(0);
  // Stored order: train then test, by class, by path; stable whatever order decoding finished in.
  for (const s of results) {
    if (s) {
      samples.push(s);
      perClass[s.label]!++;
    }
  }
  samples.sort((a, b) => (a.split !== b.split ? (a.split === 'train' ? -1 : 1) : a.label - b.label || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
  const emptyClass = perClass.findIndex((x) => x === 0);
  if (emptyClass >= 0) {
    throw new LabError('bad_format', `The class folder '${classes[emptyClass]}' has no readable images (${skipped.length} files skipped as not images).`);
  }
  const hash = createHash('sha256');
  for (const s of samples) {
    hash.update(Uint8Array.of(s.label, s.split === 'train' ? 0 : 1));
    hash.update(Buffer.from(s.sha256, 'hex'));
  }
  skipped.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { root: abs, layout, classes, samples, skipped, fingerprint: hash.digest('hex') };
}

async function decodeOne(root: string, c: Candidate): Promise<FolderSample> {
  const file = path.join(root, ...c.rel.split('/'));
  const bad = (why: string): LabError => new LabError('bad_image', `${c.rel} ${why}`, { path: c.rel });
  let buf: Buffer;
  try {
    buf = await fs.promises.readFile(file);
  } catch (err) {
    throw bad(`cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}).`);
  }
  if (buf.length === 0) throw bad('is empty (0 bytes), not an image.');
  if (looksLikeSvg(c.rel, buf)) throw bad('is an SVG: vector images are refused (they can reference other files); convert it to PNG.');
  const sha256 = createHash('sha256').update(buf).digest('hex');
  const open = (): Sharp => sharp(buf, { limitInputPixels: MAX_INPUT_PIXELS, failOn: 'warning', pages: 1 }).rotate();
  let width: number;
  let height: number;
  let thumb: Buffer | null = null;
  let pixels: Buffer | null = null;
  try {
    const meta = await sharp(buf, { limitInputPixels: MAX_INPUT_PIXELS, pages: 1 }).metadata();
    if (meta.format === 'svg') throw bad('is an SVG: vector images are refused; convert it to PNG.');
    const rot = (meta.orientation ?? 1) >= 5;
    width = (rot ? meta.height : meta.width) ?? 0;
    height = (rot ? meta.width : meta.height) ?? 0;
    if (width === 32 && height === 32) {
      const raw = await open().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
      if (raw.info.channels !== 3 || raw.data.length !== 3072) throw bad(`decoded to ${raw.info.channels} channels, not RGB.`);
      pixels = raw.data;
    } else {
      thumb = await open().resize(THUMB_SIZE, THUMB_SIZE, { fit: 'inside', withoutEnlargement: true }).flatten({ background: '#ffffff' }).jpeg({ quality: 80 }).toBuffer();
    }
  } catch (err) {
    if (err instanceof LabError) throw err;
    const msg = (err as Error).message;
    if (/pixel limit/i.test(msg)) {
      throw bad(`declares more than ${MAX_INPUT_PIXELS / 1e6} megapixels: refused as a possible decompression bomb.`);
    }
    if (/unsupported image format/i.test(msg)) throw bad('is not an image (no known image format).');
    throw bad(`is damaged or truncated (${msg.slice(0, 160)}).`);
  }
  return { split: c.split, label: c.label, path: c.rel, sha256, width, height, thumb, pixels };
}
