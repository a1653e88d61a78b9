import zlib from 'node:zlib';

// Test and benchmark support: writes CIFAR files byte for byte in the official formats
// (Python 2 cPickle protocol 2, as in cifar-10-python.tar.gz) and minimal ustar archives.

/** One tar entry to write; `type`, `linkname` and `declaredSize` let tests craft hostile archives. */
export interface TarEntrySpec {
  name: string;
  data?: Uint8Array;
  type?: '0' | '2' | '1' | '5';
  linkname?: string;
  declaredSize?: number;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** A ustar archive (uncompressed) holding the given entries. */
export function tarBytes(entries: TarEntrySpec[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? new Uint8Array(0);
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'utf8');
    h.write(octal(0o644, 8), 100, 'latin1');
    h.write(octal(0, 8), 108, 'latin1');
    h.write(octal(0, 8), 116, 'latin1');
    h.write(octal(e.declaredSize ?? data.length, 12), 124, 'latin1');
    h.write(octal(1234567890, 12), 136, 'latin1');
    h.write('        ', 148, 'latin1');
    h.write(e.type ?? '0', 156, 'latin1');
    if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    parts.push(h, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    const pad = (512 - (data.length % 512)) % 512;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** A gzip-compressed ustar archive. */
export function tarGzBytes(entries: TarEntrySpec[], level = 1): Buffer {
  return zlib.gzipSync(tarBytes(entries), { level });
}

class PickleWriter {
  private parts: Buffer[] = [];
  private memo = 0;
  raw(...bytes: number[]): this {
    this.parts.push(Buffer.from(bytes));
    return this;
  }
  put(): this {
    // BINPUT / LONG_BINPUT, as cPickle writes after every container and string.
    const i = this.memo++;
    if (i < 256) return this.raw(0x71, i);
    const b = Buffer.alloc(5);
    b[0] = 0x72;
    b.writeUInt32LE(i, 1);
    this.parts.push(b);
    return this;
  }
  str(s: string | Uint8Array): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'latin1') : Buffer.from(s.buffer, s.byteOffset, s.byteLength);
    if (b.length < 256) this.raw(0x55, b.length);
    else {
      const h = Buffer.alloc(5);
      h[0] = 0x54;
      h.writeInt32LE(b.length, 1);
      this.parts.push(h);
    }
    this.parts.push(b);
    return this.put();
  }
  int(n: number): this {
    if (n >= 0 && n < 256) return this.raw(0x4b, n);
    if (n >= 0 && n < 65536) return this.raw(0x4d, n & 255, n >> 8);
    const b = Buffer.alloc(5);
    b[0] = 0x4a;
    b.writeInt32LE(n, 1);
    this.parts.push(b);
    return this;
  }
  global(module: string, name: string): this {
    this.parts.push(Buffer.from(`c${module}\n${name}\n`, 'latin1'));
    return this.put();
  }
  ndarrayU8(rows: number, cols: number, data: Uint8Array): this {
    this.global('numpy.core.multiarray', '_reconstruct').global('numpy', 'ndarray').int(0).raw(0x85).put().str('b').raw(0x87).put().raw(0x52).put();
    this.raw(0x28).int(1).int(rows).int(cols).raw(0x86).put();
    this.global('numpy', 'dtype').str('u1').raw(0x89, 0x88, 0x87).put().raw(0x52).put();
    this.raw(0x28).int(3).str('|').raw(0x4e, 0x4e, 0x4e).int(-1).int(-1).int(0).raw(0x74).put().raw(0x62);
    this.raw(0x89).str(data).raw(0x74).put().raw(0x62);
    return this;
  }
  bytes(): Buffer {
    return Buffer.concat(this.parts);
  }
}

/** A CIFAR-10 python batch: dict with batch_label, labels, data (uint8 [N, 3072], CHW per row), filenames. */
export function cifar10BatchPickle(batchLabel: string, labels: ArrayLike<number>, data: Uint8Array, classes: string[]): Buffer {
  const n = labels.length;
  const w = new PickleWriter().raw(0x80, 2, 0x7d).put().raw(0x28);
  w.str('batch_label').str(batchLabel);
  w.str('labels').raw(0x5d).put().raw(0x28);
  for (let i = 0; i < n; i++) w.int(labels[i]!);
  w.raw(0x65);
  w.str('data').ndarrayU8(n, 3072, data);
  w.str('filenames').raw(0x5d).put().raw(0x28);
  for (let i = 0; i < n; i++) w.str(`${classes[labels[i]!] ?? 'x'}_s_${String(i).padStart(6, '0')}.png`);
  w.raw(0x65, 0x75, 0x2e);
  return w.bytes();
}

/** CIFAR-10's batches.meta pickle. */
export function cifar10MetaPickle(classes: string[], perBatch: number): Buffer {
  const w = new PickleWriter().raw(0x80, 2, 0x7d).put().raw(0x28);
  w.str('num_cases_per_batch').int(perBatch);
  w.str('label_names').raw(0x5d).put().raw(0x28);
  for (const c of classes) w.str(c);
  w.raw(0x65).str('num_vis').int(3072).raw(0x75, 0x2e);
  return w.bytes();
}

/** The official CIFAR-10 class names. */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** A generated CIFAR-10 python archive with its files' raw labels and pixels (for independent checks). */
export interface GeneratedCifar10 {
  archive: Buffer;
  batches: { name: string; labels: Uint8Array; data: Uint8Array }[];
}

/** Generates a full-format CIFAR-10 python .tar.gz with `perBatch` images in each of the 6 batches (10,000 = full size). */
export function generateCifar10Archive(perBatch: number, seed = 1, gzipLevel = 1): GeneratedCifar10 {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
  const names = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];
  const batches = names.map((name) => {
    const labels = new Uint8Array(perBatch);
    for (let i = 0; i < perBatch; i++) labels[i] = next() % 10;
    // Smooth-ish random images: a random base per row of 32 pixels plus small noise, so gzip has work to do.
    const data = new Uint8Array(perBatch * 3072);
    const words = new Uint32Array(data.buffer);
    for (let i = 0; i < words.length; i++) words[i] = next() & 0x1f1f1f1f;
    for (let r = 0; r < data.length; r += 32) {
      const base = next() & 0xbf;
      for (let k = 0; k < 32; k++) data[r + k] = (data[r + k]! + base) & 255;
    }
    return { name, labels, data };
  });
  const entries: TarEntrySpec[] = [{ name: 'cifar-10-batches-py/', type: '5' }];
  batches.forEach((b, i) => {
    const label = i < 5 ? `training batch ${i + 1} of 5` : 'testing batch 1 of 1';
    entries.push({ name: `cifar-10-batches-py/${b.name}`, data: cifar10BatchPickle(label, b.labels, b.data, CIFAR10_CLASSES) });
  });
  entries.push({ name: 'cifar-10-batches-py/batches.meta', data: cifar10MetaPickle(CIFAR10_CLASSES, perBatch) });
  entries.push({ name: 'cifar-10-batches-py/readme.html', data: Buffer.from('<meta HTTP-EQUIV="REFRESH" content="0; url=http://www.cs.toronto.edu/~kriz/cifar.html">\n') });
  return { archive: tarGzBytes(entries, gzipLevel), batches };
}
