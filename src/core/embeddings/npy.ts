import { LabError } from '../errors';

/** NumPy dtypes this module reads and writes. */
export type NpyDtype = '<f4' | '<i8' | '<i4' | '|u1';

/** A parsed .npy array: the raw little-endian data viewed as a typed array of its dtype. */
export interface NpyArray {
  dtype: NpyDtype;
  shape: number[];
  data: Float32Array | BigInt64Array | Int32Array | Uint8Array;
}

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]);

/** Parses a NumPy .npy file (format v1/v2, C order, little-endian f4/i8/i4/u1). */
export function readNpy(buf: Buffer): NpyArray {
  if (buf.byteLength < 10 || !buf.subarray(0, 6).equals(MAGIC)) throw new LabError('bad_format', 'Not a .npy file (bad magic).');
  const major = buf[6]!;
  const headerLen = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = buf.subarray(start, start + headerLen).toString('latin1');
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new LabError('bad_format', `Unreadable .npy header: ${header}`);
  if (fortran === 'True') throw new LabError('bad_format', '.npy arrays in Fortran order are not supported.');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const body = buf.subarray(start + headerLen);
  // Copy so the typed array is aligned whatever the header length was.
  const bytes = new Uint8Array(body.subarray(0, count * itemSize(descr)));
  switch (descr) {
    case '<f4':
      return { dtype: descr, shape, data: new Float32Array(bytes.buffer, 0, count) };
    case '<i8':
      return { dtype: descr, shape, data: new BigInt64Array(bytes.buffer, 0, count) };
    case '<i4':
      return { dtype: descr, shape, data: new Int32Array(bytes.buffer, 0, count) };
    case '|u1':
      return { dtype: descr, shape, data: bytes };
    default:
      throw new LabError('bad_format', `.npy dtype ${descr} is not supported.`);
  }
}

function itemSize(descr: string): number {
  if (descr === '<i8') return 8;
  if (descr === '|u1') return 1;
  return 4;
}

/** Serialises an array as .npy v1 (header padded to a multiple of 64 bytes, as NumPy writes it). */
export function writeNpy(dtype: NpyDtype, shape: number[], data: ArrayBufferView): Buffer {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  MAGIC.copy(pre, 0);
  pre[6] = 1;
  pre[7] = 0;
  pre.writeUInt16LE(header.length, 8);
  const body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}
