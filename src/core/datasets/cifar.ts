import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LabError, throwIfAborted } from '../errors';
import { intList, PyBytes, PyDict, textList, unpickle, type NdArray, type PyValue } from './pickle';
import { readTarEntries } from './tar-reader';

/** Bytes of one 32x32 RGB image. */
export const CIFAR_PIXELS = 3072;

/** One batch file of a CIFAR dataset, decoded; pixels are HWC interleaved RGB, 3,072 bytes per image. */
export interface CifarBatch {
  file: string;
  split: 'train' | 'test';
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** A whole CIFAR dataset read from one of its official layouts. */
export interface CifarData {
  variant: 'cifar10' | 'cifar100';
  format: 'python' | 'binary';
  container: 'tar.gz' | 'folder';
  coarse: boolean;
  classes: string[];
  batches: CifarBatch[];
  /** sha256 over each sample in file order: its (fine) label byte, then its 3,072 pixel bytes as stored. */
  fingerprint: string;
  counts: { train: number; test: number };
}

/** Options for reading CIFAR. */
export interface CifarReadOptions {
  coarse?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: { phase: string; done: number; total: number }) => void;
}

type Layout = 'py10' | 'py100' | 'bin10' | 'bin100';

const LAYOUT_FILES: Record<Layout, string[]> = {
  py10: ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch', 'batches.meta'],
  py100: ['train', 'test', 'meta'],
  bin10: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin', 'batches.meta.txt'],
  bin100: ['train.bin', 'test.bin', 'fine_label_names.txt', 'coarse_label_names.txt'],
};
const KNOWN_DIRS = ['cifar-10-batches-py', 'cifar-100-python', 'cifar-10-batches-bin', 'cifar-100-binary'];
const ALL_NAMES = new Set(Object.values(LAYOUT_FILES).flat());

function detect(names: Set<string>): Layout | null {
  // Most specific first: 'train'/'test' also sit beside other files.
  for (const l of ['bin10', 'py10', 'bin100', 'py100'] as Layout[]) {
    if (LAYOUT_FILES[l].some((f) => names.has(f)) && (l !== 'py100' || names.has('meta'))) return l;
  }
  return null;
}

/** Reads CIFAR-10 or CIFAR-100 from a python or binary .tar.gz, or from the folder such an archive extracts to. */
export async function readCifar(p: string, opts: CifarReadOptions = {}): Promise<CifarData> {
  let st: fs.Stats;
  try {
    st = fs.statSync(p);
  } catch {
    throw new LabError('not_found', `${p} does not exist.`);
  }
  let files: Map<string, Buffer>;
  let container: CifarData['container'];
  if (st.isDirectory()) {
    container = 'folder';
    files = readFolder(p);
  } else {
    container = 'tar.gz';
    const entries = await readTarEntries(
      p,
      (e) => {
        const parts = e.split('/').filter((s) => s && s !== '.');
        return parts.length <= 2 && ALL_NAMES.has(parts[parts.length - 1]!);
      },
      { signal: opts.signal, onBytes: (done, total) => opts.onProgress?.({ phase: 'reading', done, total }) },
    );
    files = new Map();
    for (const [k, v] of entries) {
      const base = k.split('/').filter(Boolean).pop()!;
      if (files.has(base)) throw new LabError('bad_format', `${path.basename(p)} holds ${base} twice; it is not an official CIFAR archive.`);
      files.set(base, v);
    }
  }
  throwIfAborted(opts.signal);
  const layout = detect(new Set(files.keys()));
  if (!layout) {
    throw new LabError(
      'bad_format',
      `${path.basename(p)} is not a CIFAR-10/100 dataset: none of its files are data_batch_1, test_batch, train, test (python) or their .bin versions.`,
    );
  }
  for (const f of LAYOUT_FILES[layout]) {
    if (!files.has(f)) throw new LabError('bad_format', `${path.basename(p)} looks like CIFAR but ${f} is missing; the download may be incomplete.`);
  }
  const data = layout.startsWith('py') ? parsePython(layout as 'py10' | 'py100', files, opts) : parseBinary(layout as 'bin10' | 'bin100', files, opts);
  return { ...data, container };
}

function readFolder(dir: string): Map<string, Buffer> {
  let base = dir;
  const here = new Set(fs.readdirSync(dir));
  if (![...here].some((n) => ALL_NAMES.has(n))) {
    const sub = KNOWN_DIRS.find((d) => here.has(d) && fs.statSync(path.join(dir, d)).isDirectory());
    if (sub) base = path.join(dir, sub);
  }
  const files = new Map<string, Buffer>();
  for (const n of fs.readdirSync(base)) {
    if (!ALL_NAMES.has(n)) continue;
    const f = path.join(base, n);
    if (fs.statSync(f).isFile()) files.set(n, fs.readFileSync(f));
  }
  return files;
}

function asDict(v: PyValue, file: string): PyDict {
  if (!(v instanceof PyDict)) throw new LabError('bad_format', `${file} does not hold a dict; it is not a CIFAR batch.`);
  return v;
}

function load(files: Map<string, Buffer>, name: string): PyDict {
  const buf = files.get(name)!;
  try {
    return asDict(unpickle(buf), name);
  } catch (err) {
    if (err instanceof LabError && err.code === 'bad_format') throw new LabError('bad_format', `${name}: ${err.message}`);
    throw err;
  }
}

function field(d: PyDict, key: string, file: string): PyValue {
  const v = d.get(key);
  if (v === undefined) throw new LabError('bad_format', `${file} has no '${key}' entry; it is not a CIFAR batch.`);
  return v;
}

function checkLabels(labels: Int32Array, classes: number, file: string, what = 'label'): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l < 0 || l >= classes) {
      throw new LabError('bad_format', `${file}: ${what} ${l} of image ${i} is outside the ${classes} classes (0-${classes - 1}).`);
    }
    out[i] = l;
  }
  return out;
}

/** CHW planes (1024 R, 1024 G, 1024 B) of `count` images -> interleaved HWC. */
function chwToHwc(src: Uint8Array, count: number, srcStride: number, srcOffset: number): Uint8Array {
  const out = new Uint8Array(count * CIFAR_PIXELS);
  for (let n = 0; n < count; n++) {
    const s = n * srcStride + srcOffset;
    const o = n * CIFAR_PIXELS;
    for (let p = 0; p < 1024; p++) {
      const q = o + p * 3;
      out[q] = src[s + p]!;
      out[q + 1] = src[s + 1024 + p]!;
      out[q + 2] = src[s + 2048 + p]!;
    }
  }
  return out;
}

function parsePython(layout: 'py10' | 'py100', files: Map<string, Buffer>, opts: CifarReadOptions): Omit<CifarData, 'container'> {
  const cifar100 = layout === 'py100';
  const coarse = cifar100 && !!opts.coarse;
  const metaName = cifar100 ? 'meta' : 'batches.meta';
  const meta = load(files, metaName);
  const fine = textList(field(meta, cifar100 ? 'fine_label_names' : 'label_names', metaName), 'label names');
  const classes = coarse ? textList(field(meta, 'coarse_label_names', metaName), 'coarse label names') : fine;
  const order = cifar100 ? ['train', 'test'] : LAYOUT_FILES.py10.slice(0, 6);
  const hash = createHash('sha256');
  const batches: CifarBatch[] = [];
  const labelByte = new Uint8Array(1);
  for (const name of order) {
    throwIfAborted(opts.signal);
    const d = load(files, name);
    const data = field(d, 'data', name);
    if (!isNd(data) || data.dtype !== 'uint8') throw new LabError('bad_format', `${name}: 'data' is not a uint8 NumPy array.`);
    const count = data.shape[0] ?? 0;
    const per = data.shape.slice(1).reduce((a, b) => a * b, 1);
    if (per !== CIFAR_PIXELS) throw new LabError('bad_format', `${name}: images have ${per} values, not 3,072 (32x32x3).`);
    const fineLabels = intList(field(d, cifar100 ? 'fine_labels' : 'labels', name), `${name} labels`);
    if (fineLabels.length !== count) throw new LabError('bad_format', `${name}: ${fineLabels.length} labels for ${count} images.`);
    const fineU8 = checkLabels(fineLabels, fine.length, name);
    const labels = coarse ? checkLabels(intList(field(d, 'coarse_labels', name), `${name} coarse_labels`), classes.length, name, 'coarse label') : fineU8;
    if (labels.length !== count) throw new LabError('bad_format', `${name}: ${labels.length} labels for ${count} images.`);
    const px = data.data as Uint8Array;
    for (let i = 0; i < count; i++) {
      labelByte[0] = fineU8[i]!;
      hash.update(labelByte);
      hash.update(px.subarray(i * CIFAR_PIXELS, (i + 1) * CIFAR_PIXELS));
    }
    batches.push({ file: name, split: name.startsWith('test') ? 'test' : 'train', count, labels, pixels: chwToHwc(px, count, CIFAR_PIXELS, 0) });
    opts.onProgress?.({ phase: 'parsing', done: batches.length, total: order.length });
  }
  return finishData(cifar100 ? 'cifar100' : 'cifar10', 'python', coarse, classes, batches, hash.digest('hex'));
}

function isNd(v: PyValue): v is NdArray {
  return typeof v === 'object' && v !== null && !(v instanceof PyBytes) && 'kind' in v && v.kind === 'ndarray';
}

function parseBinary(layout: 'bin10' | 'bin100', files: Map<string, Buffer>, opts: CifarReadOptions): Omit<CifarData, 'container'> {
  const cifar100 = layout === 'bin100';
  const coarse = cifar100 && !!opts.coarse;
  const names = (f: string): string[] =>
    files
      .get(f)!
      .toString('utf8')
      .split(/\r?\n/)
      .map((s) => s.trim())
      .filter(Boolean);
  const fine = names(cifar100 ? 'fine_label_names.txt' : 'batches.meta.txt');
  const classes = coarse ? names('coarse_label_names.txt') : fine;
  const rec = cifar100 ? 3074 : 3073;
  const off = cifar100 ? 2 : 1;
  const fineAt = cifar100 ? 1 : 0;
  const order = cifar100 ? ['train.bin', 'test.bin'] : LAYOUT_FILES.bin10.slice(0, 6);
  const hash = createHash('sha256');
  const batches: CifarBatch[] = [];
  const labelByte = new Uint8Array(1);
  for (const name of order) {
    throwIfAborted(opts.signal);
    const buf = files.get(name)!;
    if (buf.length % rec !== 0 || buf.length === 0) {
      throw new LabError(
        'bad_format',
        `${name} is ${buf.length} bytes, not a multiple of the ${rec.toLocaleString('en-US')}-byte ${cifar100 ? 'CIFAR-100' : 'CIFAR-10'} record: the file is truncated or not a CIFAR binary batch.`,
      );
    }
    const count = buf.length / rec;
    const labels = new Uint8Array(count);
    const nFine = fine.length;
    for (let i = 0; i < count; i++) {
      const f = buf[i * rec + fineAt]!;
      if (f >= nFine) throw new LabError('bad_format', `${name}: label ${f} of image ${i} is outside the ${nFine} classes (0-${nFine - 1}).`);
      const l = coarse ? buf[i * rec]! : f;
      if (l >= classes.length) throw new LabError('bad_format', `${name}: coarse label ${l} of image ${i} is outside the ${classes.length} classes (0-${classes.length - 1}).`);
      labels[i] = l;
    }
    if (cifar100) {
      for (let i = 0; i < count; i++) {
        labelByte[0] = buf[i * rec + 1]!;
        hash.update(labelByte);
        hash.update(buf.subarray(i * rec + 2, (i + 1) * rec));
      }
    } else hash.update(buf); // a CIFAR-10 record is exactly label byte + pixels
    batches.push({ file: name, split: name.startsWith('test') ? 'test' : 'train', count, labels, pixels: chwToHwc(buf, count, rec, off) });
    opts.onProgress?.({ phase: 'parsing', done: batches.length, total: order.length });
  }
  return finishData(cifar100 ? 'cifar100' : 'cifar10', 'binary', coarse, classes, batches, hash.digest('hex'));
}

function finishData(
  variant: CifarData['variant'],
  format: CifarData['format'],
  coarse: boolean,
  classes: string[],
  batches: CifarBatch[],
  fingerprint: string,
): Omit<CifarData, 'container'> {
  const counts = { train: 0, test: 0 };
  for (const b of batches) counts[b.split] += b.count;
  return { variant, format, coarse, classes, batches, fingerprint, counts };
}
