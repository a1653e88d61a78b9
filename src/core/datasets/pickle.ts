import { LabError } from '../errors';

/** A Python bytes value; `py2str` marks a Python 2 `str` (bytes whose text is Latin-1). */
export class PyBytes {
  constructor(
    readonly data: Uint8Array,
    readonly py2str: boolean,
  ) {}
  /** The bytes as text, Latin-1 (how NumPy reads Python 2 pickles with encoding='latin1'). */
  text(): string {
    return Buffer.from(this.data.buffer, this.data.byteOffset, this.data.byteLength).toString('latin1');
  }
}

/** A Python tuple. */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A Python set or frozenset. */
export class PySet {
  constructor(readonly items: PyValue[]) {}
}

/** A key of a Python dict as seen from JS: str and bytes keys become strings (bytes read as Latin-1). */
export type PyKey = string | number | boolean | null;

/** A Python dict. */
export class PyDict {
  readonly map = new Map<PyKey, PyValue>();
  /** The value for a key, or undefined. */
  get(key: PyKey): PyValue | undefined {
    return this.map.get(key);
  }
}

/** NumPy element types the reader understands. */
export type NdDtype = 'bool' | 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float16' | 'float32' | 'float64';

/** The typed-array storage of an ndarray (float16 is widened to float32, bool kept as bytes). */
export type NdData = Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;

/** A NumPy array rebuilt from a pickle, always in C (row-major) order and native byte order. */
export interface NdArray {
  kind: 'ndarray';
  dtype: NdDtype;
  shape: number[];
  data: NdData;
}

/** Any value the safe unpickler can produce. */
export type PyValue = null | boolean | number | bigint | string | PyBytes | PyValue[] | PyTuple | PySet | PyDict | NdArray;

/** Limits that keep hostile pickles from exhausting memory or time. */
export interface UnpickleLimits {
  /** Deepest container nesting allowed (default 100). */
  maxDepth?: number;
  /** Most values on the stack at once (default 20,000,000). */
  maxStack?: number;
  /** Most open MARKs at once (default 1,000). */
  maxMarks?: number;
}

// Globals are resolved to these markers; nothing is ever looked up or called.
type GlobalMarker =
  | { g: 'reconstruct' }
  | { g: 'ndarray' }
  | { g: 'dtype' }
  | { g: 'frombuffer' }
  | { g: 'codecs_encode' };

const ALLOWED_GLOBALS: Record<string, GlobalMarker> = {
  'numpy.core.multiarray._reconstruct': { g: 'reconstruct' },
  'numpy._core.multiarray._reconstruct': { g: 'reconstruct' },
  'numpy.ndarray': { g: 'ndarray' },
  'numpy.dtype': { g: 'dtype' },
  // Protocol-5 re-saves of arrays use _frombuffer(buffer, dtype, shape, order): pure data.
  'numpy.core.numeric._frombuffer': { g: 'frombuffer' },
  'numpy._core.numeric._frombuffer': { g: 'frombuffer' },
  // Python 3 writes bytes at protocol 2 as _codecs.encode(str, 'latin1'): pure data.
  '_codecs.encode': { g: 'codecs_encode' },
};

interface DtypeObj {
  t: 'dtype';
  dtype: NdDtype;
  size: number;
  bigEndian: boolean;
}
interface PendingArray {
  t: 'pending';
}
type Internal = PyValue | GlobalMarker | DtypeObj | PendingArray | typeof MARK_SENTINEL;
const MARK_SENTINEL = Symbol('mark');

const DTYPES: Record<string, [NdDtype, number]> = {
  b1: ['bool', 1], '?': ['bool', 1],
  i1: ['int8', 1], u1: ['uint8', 1], b: ['int8', 1], B: ['uint8', 1],
  i2: ['int16', 2], u2: ['uint16', 2],
  i4: ['int32', 4], u4: ['uint32', 4],
  i8: ['int64', 8], u8: ['uint64', 8],
  f2: ['float16', 2], f4: ['float32', 4], f8: ['float64', 8],
};

/** Longest LONG1/LONG4 integer read, in bytes (and LONG text, in digits): parsing them is quadratic. */
export const MAX_LONG_BYTES = 16;
const MAX_LONG_DIGITS = 40;

function fail(message: string): never {
  throw new LabError('bad_format', `Cannot read the pickle: ${message}`);
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a pickle (protocols 2-5, plus the binary opcodes of 0-1) without executing anything: only plain
 * data and NumPy arrays are built; any other GLOBAL is refused with LabError('pickle_refused').
 */
export function unpickle(input: Uint8Array, limits: UnpickleLimits = {}): PyValue {
  const maxDepth = limits.maxDepth ?? 100;
  const maxStack = limits.maxStack ?? 20_000_000;
  const maxMarks = limits.maxMarks ?? 1000;
  const buf = input;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const end = buf.length;
  let pos = 0;
  let stack: Internal[] = [];
  const marks: Internal[][] = [];
  const memo = new Map<number, Internal>();
  // Depth of every container built so far; primitives are depth 0.
  const depth = new WeakMap<object, number>();

  const need = (n: number, what: string): void => {
    if (n < 0 || pos + n > end) fail(`${what} declares ${n} bytes at offset ${pos} but only ${end - pos} remain (truncated or corrupt file)`);
  };
  const u8 = (): number => {
    need(1, 'an opcode argument');
    return buf[pos++]!;
  };
  const u16 = (): number => {
    need(2, 'an opcode argument');
    const v = view.getUint16(pos, true);
    pos += 2;
    return v;
  };
  const u32 = (): number => {
    need(4, 'an opcode argument');
    const v = view.getUint32(pos, true);
    pos += 4;
    return v;
  };
  const i32 = (): number => {
    need(4, 'an opcode argument');
    const v = view.getInt32(pos, true);
    pos += 4;
    return v;
  };
  const u64 = (): number => {
    need(8, 'an opcode argument');
    const v = view.getBigUint64(pos, true);
    pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`a length of ${v} bytes is impossible`);
    return Number(v);
  };
  const bytes = (n: number, what: string): Uint8Array => {
    need(n, what);
    const b = buf.subarray(pos, pos + n);
    pos += n;
    return b;
  };
  const line = (): string => {
    const nl = buf.indexOf(10, pos);
    if (nl < 0 || nl - pos > 4096) fail(`unterminated text argument at offset ${pos}`);
    const s = latin1.decode(buf.subarray(pos, nl));
    pos = nl + 1;
    return s;
  };
  const push = (v: Internal): void => {
    if (stack.length >= maxStack) fail(`more than ${maxStack} values on the stack`);
    stack.push(v);
  };
  const pop = (): Internal => {
    if (stack.length === 0) fail(`stack underflow at offset ${pos - 1}`);
    return stack.pop()!;
  };
  const top = (): Internal => {
    if (stack.length === 0) fail(`stack underflow at offset ${pos - 1}`);
    return stack[stack.length - 1]!;
  };
  const popMark = (): Internal[] => {
    const items = stack;
    const prev = marks.pop();
    if (!prev) fail(`an opcode at offset ${pos - 1} needs a MARK that is not there`);
    stack = prev;
    return items;
  };
  const utf8Text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a text value is not valid UTF-8');
    }
  };
  const nest = (container: object, children: Internal[]): void => {
    let d = depth.get(container) ?? 1;
    for (let i = 0; i < children.length; i++) {
      const c = children[i]!;
      if (typeof c === 'object' && c !== null) {
        const cd = (depth.get(c) ?? 0) + 1;
        if (cd > d) d = cd;
      }
    }
    if (d > maxDepth) fail(`containers nested deeper than ${maxDepth} levels`);
    depth.set(container, d);
  };
  const asValue = (v: Internal, what: string): PyValue => {
    if (v === MARK_SENTINEL) fail(`unexpected MARK in ${what}`);
    if (typeof v === 'object' && v !== null && ('g' in v || 't' in v)) {
      if ('t' in v && v.t === 'pending') fail(`an unfinished NumPy array in ${what}`);
      fail(`a ${'g' in v ? 'class' : 'dtype'} object used as data in ${what}`);
    }
    return v as PyValue;
  };
  const keyOf = (k: Internal): PyKey => {
    if (typeof k === 'string' || typeof k === 'number' || typeof k === 'boolean' || k === null) return k;
    if (k instanceof PyBytes) return k.text();
    if (typeof k === 'bigint') return Number(k);
    return fail('a dict key that is not a string or a number');
  };
  const setItems = (dict: Internal, items: Internal[]): void => {
    if (!(dict instanceof PyDict)) fail('SETITEM(S) on something that is not a dict');
    if (items.length % 2 !== 0) fail('SETITEMS with an odd number of values');
    for (let i = 0; i < items.length; i += 2) dict.map.set(keyOf(items[i]!), asValue(items[i + 1]!, 'a dict'));
    nest(dict, items);
  };
  const appendItems = (list: Internal, items: Internal[]): void => {
    if (Array.isArray(list)) {
      for (let i = 0; i < items.length; i++) list.push(asValue(items[i]!, 'a list'));
    } else if (list instanceof PySet) {
      for (let i = 0; i < items.length; i++) list.items.push(asValue(items[i]!, 'a set'));
    } else fail('APPEND(S) on something that is not a list');
    nest(list as object, items);
  };
  const tuple = (items: Internal[]): PyTuple => {
    // Tuples are argument packs for REDUCE/BUILD too, so they may carry class and dtype markers.
    for (const x of items) if (x === MARK_SENTINEL) fail('unexpected MARK in a tuple');
    const t = new PyTuple(items as PyValue[]);
    nest(t, items);
    return t;
  };
  const global = (module: string, name: string): GlobalMarker => {
    const full = `${module}.${name}`;
    const g = ALLOWED_GLOBALS[full];
    if (!g) {
      throw new LabError(
        'pickle_refused',
        `The pickle was not loaded: refused GLOBAL ${full.slice(0, 200)}, which is not NumPy array data. ` +
          'Only plain data and NumPy arrays are read; nothing in the file was executed. Use the official dataset file.',
        { global: full.slice(0, 200) },
      );
    }
    return g;
  };
  const reduce = (fn: Internal, args: Internal): Internal => {
    if (!(args instanceof PyTuple)) fail('REDUCE arguments are not a tuple');
    const a = args.items;
    if (typeof fn !== 'object' || fn === null || !('g' in fn)) fail('REDUCE on something that is not an allowed callable');
    switch (fn.g) {
      case 'reconstruct':
        return { t: 'pending' };
      case 'dtype': {
        const spec = a[0] instanceof PyBytes ? a[0].text() : a[0];
        if (typeof spec !== 'string') fail('numpy.dtype with a non-text type code');
        const m = /^([<>|=]?)(.+)$/.exec(spec);
        const info = m ? DTYPES[m[2]!] : undefined;
        if (!info) fail(`the NumPy type '${spec.slice(0, 20)}' is not supported (only numeric arrays are read)`);
        return { t: 'dtype', dtype: info[0], size: info[1], bigEndian: m![1] === '>' };
      }
      case 'codecs_encode': {
        const s = a[0];
        const enc = a[1];
        if (typeof s !== 'string' || (enc !== 'latin1' && enc !== 'latin-1')) fail('_codecs.encode other than text to latin1');
        const out = new Uint8Array(s.length);
        for (let i = 0; i < s.length; i++) {
          const c = s.charCodeAt(i);
          if (c > 255) fail('_codecs.encode of a character outside latin1');
          out[i] = c;
        }
        return new PyBytes(out, false);
      }
      case 'frombuffer': {
        const [data, dt, shape, order] = a;
        if (!(data instanceof PyBytes)) fail('_frombuffer without a byte buffer');
        if (!isDtype(dt)) fail('_frombuffer without a dtype');
        if (!(shape instanceof PyTuple)) fail('_frombuffer without a shape');
        return makeArray(data.data, dt, shapeOf(shape), order === 'F');
      }
      default:
        return fail('a class object was called');
    }
  };
  const build = (obj: Internal, state: Internal): Internal => {
    if (isDtype(obj)) {
      // dtype state: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
      if (state instanceof PyTuple) {
        const bo = state.items[1];
        const b = bo instanceof PyBytes ? bo.text() : bo;
        if (typeof b === 'string') obj.bigEndian = b === '>';
        if (state.items[3] !== null && state.items[3] !== undefined) fail('structured NumPy dtypes are not supported');
      }
      return obj;
    }
    if (typeof obj === 'object' && obj !== null && 't' in obj && obj.t === 'pending') {
      if (!(state instanceof PyTuple) || state.items.length < 5) fail('NumPy array state is not (version, shape, dtype, fortran, data)');
      const [, shape, dt, fortran, raw] = state.items;
      if (!(shape instanceof PyTuple)) fail('NumPy array shape is not a tuple');
      if (!isDtype(dt as Internal)) fail('NumPy array without a dtype');
      if (!(raw instanceof PyBytes)) fail('NumPy array data is not raw bytes (object arrays are refused)');
      return makeArray(raw.data, dt as unknown as DtypeObj, shapeOf(shape), fortran === true);
    }
    fail('BUILD on an object that is not a NumPy array or dtype');
  };

  if (end === 0) fail('the file is empty');
  for (;;) {
    if (pos >= end) fail('the file ends before its STOP opcode (truncated)');
    const op = buf[pos++]!;
    switch (op) {
      case 0x80: {
        const proto = u8();
        if (proto > 5) fail(`pickle protocol ${proto} is newer than 5`);
        break;
      }
      case 0x95: // FRAME: a length hint; frames are read as part of the flat buffer.
        u64();
        break;
      case 0x2e: { // STOP
        const v = pop();
        return asValue(v, 'the result');
      }
      case 0x28: // MARK
        if (marks.length >= maxMarks) fail(`more than ${maxMarks} nested MARKs`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length === 0 && marks.length > 0) popMark();
        else pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88:
        push(true);
        break;
      case 0x89:
        push(false);
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x49: { // INT (text; '00'/'01' are False/True in protocol 0)
        const s = line();
        if (s === '00' || s === '01') push(s === '01');
        else if (/^[-+]?\d+$/.test(s)) push(Number(s));
        else fail(`bad INT '${s.slice(0, 20)}'`);
        break;
      }
      case 0x4c: { // LONG (text)
        const s = line().replace(/L$/, '');
        if (s.length > MAX_LONG_DIGITS) fail(`an integer of ${s.length} digits is too large (at most ${MAX_LONG_DIGITS} are read)`);
        if (!/^[-+]?\d+$/.test(s)) fail(`bad LONG '${s.slice(0, 20)}'`);
        const b = BigInt(s);
        push(b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b);
        break;
      }
      case 0x46: { // FLOAT (text)
        const v = Number(line());
        if (Number.isNaN(v)) fail('bad FLOAT');
        push(v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8, 'BINFLOAT');
        push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x8a: // LONG1
      case 0x8b: { // LONG4
        const n = op === 0x8a ? u8() : u32();
        // Decoding a long integer is quadratic in its length; CIFAR's never need more than 8 bytes.
        if (n > MAX_LONG_BYTES) fail(`an integer of ${n} bytes is too large (at most ${MAX_LONG_BYTES} bytes are read)`);
        push(littleSigned(bytes(n, 'LONG')));
        break;
      }
      case 0x54: { // BINSTRING (py2 str)
        const n = i32();
        push(new PyBytes(bytes(n, 'BINSTRING'), true));
        break;
      }
      case 0x55: // SHORT_BINSTRING
        push(new PyBytes(bytes(u8(), 'SHORT_BINSTRING'), true));
        break;
      case 0x42: // BINBYTES
        push(new PyBytes(bytes(u32(), 'BINBYTES'), false));
        break;
      case 0x43: // SHORT_BINBYTES
        push(new PyBytes(bytes(u8(), 'SHORT_BINBYTES'), false));
        break;
      case 0x8e: // BINBYTES8
        push(new PyBytes(bytes(u64(), 'BINBYTES8'), false));
        break;
      case 0x96: // BYTEARRAY8
        push(new PyBytes(bytes(u64(), 'BYTEARRAY8'), false));
        break;
      case 0x58: // BINUNICODE
        push(utf8Text(bytes(u32(), 'BINUNICODE')));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8Text(bytes(u8(), 'SHORT_BINUNICODE')));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8Text(bytes(u64(), 'BINUNICODE8')));
        break;
      case 0x5d: { // EMPTY_LIST
        const l: PyValue[] = [];
        depth.set(l, 1);
        push(l);
        break;
      }
      case 0x6c: { // LIST
        const items = popMark();
        const l: PyValue[] = [];
        appendItems(l, items);
        push(l);
        break;
      }
      case 0x7d: { // EMPTY_DICT
        const d = new PyDict();
        depth.set(d, 1);
        push(d);
        break;
      }
      case 0x64: { // DICT
        const items = popMark();
        const d = new PyDict();
        setItems(d, items);
        push(d);
        break;
      }
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x74: // TUPLE
        push(tuple(popMark()));
        break;
      case 0x85: {
        const a = pop();
        push(tuple([a]));
        break;
      }
      case 0x86: {
        const b = pop();
        const a = pop();
        push(tuple([a, b]));
        break;
      }
      case 0x87: {
        const c = pop();
        const b = pop();
        const a = pop();
        push(tuple([a, b, c]));
        break;
      }
      case 0x8f: { // EMPTY_SET
        const s = new PySet([]);
        depth.set(s, 1);
        push(s);
        break;
      }
      case 0x90: { // ADDITEMS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x91: { // FROZENSET
        const s = new PySet([]);
        appendItems(s, popMark());
        push(s);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        appendItems(top(), [v]);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        appendItems(top(), items);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x70: { // PUT (text)
        const s = line();
        if (!/^\d+$/.test(s)) fail('bad PUT');
        memo.set(Number(s), top());
        break;
      }
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
      case 0x6a: // LONG_BINGET
      case 0x67: { // GET (text)
        const idx = op === 0x68 ? u8() : op === 0x6a ? u32() : Number(line());
        const v = memo.get(idx);
        if (v === undefined) fail(`memo entry ${idx} is used before it is stored`);
        push(v);
        break;
      }
      case 0x63: { // GLOBAL "module\nname\n"
        const module = line();
        const name = line();
        push(global(module, name));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL without text names');
        push(global(module, name));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        const fn = pop();
        push(reduce(fn, args));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        const obj = pop();
        push(build(obj, state));
        break;
      }
      case 0x81: // NEWOBJ
      case 0x92: // NEWOBJ_EX
      case 0x69: // INST
      case 0x6f: // OBJ
        throw new LabError(
          'pickle_refused',
          `The pickle was not loaded: it creates Python objects (opcode 0x${op.toString(16)} at offset ${pos - 1}); only plain data and NumPy arrays are read, nothing was executed.`,
        );
      case 0x50: // PERSID
      case 0x51: // BINPERSID
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        throw new LabError(
          'pickle_refused',
          `The pickle was not loaded: it uses external references (opcode 0x${op.toString(16)} at offset ${pos - 1}); nothing was executed.`,
        );
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        return fail('the pickle expects out-of-band buffers that are not in the file');
      default:
        fail(`unknown or unsupported opcode 0x${op.toString(16).padStart(2, '0')} at offset ${pos - 1}`);
    }
  }
}

function isDtype(v: unknown): v is DtypeObj {
  return typeof v === 'object' && v !== null && (v as { t?: string }).t === 'dtype';
}

function shapeOf(t: PyTuple): number[] {
  return t.items.map((x) => {
    const n = typeof x === 'bigint' ? Number(x) : x;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) fail('NumPy array shape holds a non-integer');
    return n;
  });
}

function littleSigned(b: Uint8Array): number | bigint {
  if (b.length === 0) return 0;
  let v = 0n;
  for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
  if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

function makeArray(raw: Uint8Array, dt: DtypeObj, shape: number[], fortran: boolean): NdArray {
  let count = 1;
  for (const s of shape) count *= s;
  if (count * dt.size !== raw.byteLength) {
    fail(`NumPy array of shape [${shape.join(', ')}] needs ${count * dt.size} bytes but holds ${raw.byteLength}`);
  }
  let bytes = raw;
  if (fortran && shape.length > 1) bytes = fortranToC(raw, shape, dt.size);
  return { kind: 'ndarray', dtype: dt.dtype, shape, data: typed(bytes, dt, count) };
}

function fortranToC(raw: Uint8Array, shape: number[], size: number): Uint8Array {
  const n = shape.length;
  const out = new Uint8Array(raw.length);
  const count = raw.length / size;
  // Fortran strides (in elements) for each C-order index.
  const fstride: number[] = new Array(n);
  let s = 1;
  for (let d = 0; d < n; d++) {
    fstride[d] = s;
    s *= shape[d]!;
  }
  const idx = new Array<number>(n).fill(0);
  for (let c = 0; c < count; c++) {
    let f = 0;
    for (let d = 0; d < n; d++) f += idx[d]! * fstride[d]!;
    out.set(raw.subarray(f * size, f * size + size), c * size);
    for (let d = n - 1; d >= 0; d--) {
      if (++idx[d]! < shape[d]!) break;
      idx[d] = 0;
    }
  }
  return out;
}

function typed(bytes: Uint8Array, dt: DtypeObj, count: number): NdData {
  if (dt.dtype === 'uint8' || dt.dtype === 'bool') return bytes;
  if (dt.dtype === 'int8') return new Int8Array(bytes.buffer, bytes.byteOffset, count);
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = !dt.bigEndian;
  const n = count;
  switch (dt.dtype) {
    case 'int16': { const o = new Int16Array(n); for (let i = 0; i < n; i++) o[i] = v.getInt16(i * 2, le); return o; }
    case 'uint16': { const o = new Uint16Array(n); for (let i = 0; i < n; i++) o[i] = v.getUint16(i * 2, le); return o; }
    case 'int32': { const o = new Int32Array(n); for (let i = 0; i < n; i++) o[i] = v.getInt32(i * 4, le); return o; }
    case 'uint32': { const o = new Uint32Array(n); for (let i = 0; i < n; i++) o[i] = v.getUint32(i * 4, le); return o; }
    case 'int64': { const o = new BigInt64Array(n); for (let i = 0; i < n; i++) o[i] = v.getBigInt64(i * 8, le); return o; }
    case 'uint64': { const o = new BigUint64Array(n); for (let i = 0; i < n; i++) o[i] = v.getBigUint64(i * 8, le); return o; }
    case 'float32': { const o = new Float32Array(n); for (let i = 0; i < n; i++) o[i] = v.getFloat32(i * 4, le); return o; }
    case 'float64': { const o = new Float64Array(n); for (let i = 0; i < n; i++) o[i] = v.getFloat64(i * 8, le); return o; }
    case 'float16': { const o = new Float32Array(n); for (let i = 0; i < n; i++) o[i] = half(v.getUint16(i * 2, le)); return o; }
  }
  return bytes;
}

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

/** Reads an integer list (Python list of ints, or a NumPy integer array) as an Int32Array. */
export function intList(v: PyValue | undefined, what: string): Int32Array {
  if (Array.isArray(v)) {
    const out = new Int32Array(v.length);
    for (let i = 0; i < v.length; i++) {
      const x = v[i];
      const n = typeof x === 'bigint' ? Number(x) : x;
      if (typeof n !== 'number' || !Number.isInteger(n)) fail(`${what}[${i}] is not an integer`);
      out[i] = n;
    }
    return out;
  }
  if (v && typeof v === 'object' && 'kind' in v && v.kind === 'ndarray') {
    const out = new Int32Array(v.data.length);
    for (let i = 0; i < v.data.length; i++) out[i] = Number(v.data[i]!);
    return out;
  }
  return fail(`${what} is not a list of integers`);
}

/** Reads a list of text values (str or Python 2 byte strings) as JS strings. */
export function textList(v: PyValue | undefined, what: string): string[] {
  if (!Array.isArray(v)) fail(`${what} is not a list`);
  return v.map((x, i) => {
    if (typeof x === 'string') return x;
    if (x instanceof PyBytes) return x.text();
    return fail(`${what}[${i}] is not text`);
  });
}
