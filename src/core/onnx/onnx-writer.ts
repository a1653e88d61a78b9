/**
 * A minimal ONNX ModelProto encoder (protobuf wire format written by hand): enough to build test models
 * and the random-weight ViT baseline without a Python toolchain. Field numbers follow onnx/onnx.proto3.
 */

/** ONNX TensorProto.DataType values used here. */
export const OnnxType = { FLOAT: 1, UINT8: 2, INT32: 6, INT64: 7, FLOAT16: 10, DOUBLE: 11 } as const;
/** One of the supported ONNX element types. */
export type OnnxElemType = (typeof OnnxType)[keyof typeof OnnxType];

/** A dimension: a fixed size or a symbolic name (e.g. 'batch'). */
export type Dim = number | string;

/** A graph input or output: name, element type, shape. */
export interface ValueInfo {
  name: string;
  type: OnnxElemType;
  shape: Dim[];
}

/** An initializer (weights) or a constant tensor attribute. */
export interface TensorDef {
  name: string;
  type: OnnxElemType;
  dims: number[];
  /** Little-endian raw bytes of the elements (float32 for FLOAT, int64 for INT64, ...). */
  raw: Uint8Array;
  /** Keep the bytes in a file next to the model instead (ONNX external data); `raw` is then not written. */
  external?: { location: string; offset: number; length: number };
}

/** Attribute values: int, float, string, ints, floats, a tensor, or a graph (the body of Loop, If, Scan). */
export type AttrValue =
  | { i: number }
  | { f: number }
  | { s: string }
  | { ints: number[] }
  | { floats: number[] }
  | { t: TensorDef }
  | { g: GraphDef };

/** A graph node. */
export interface NodeDef {
  op: string;
  inputs: string[];
  outputs: string[];
  name?: string;
  attrs?: Record<string, AttrValue>;
}

/** A graph: its inputs, outputs, nodes and initializers. */
export interface GraphDef {
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: NodeDef[];
  initializers?: TensorDef[];
  graphName?: string;
}

/** A whole model: one graph at one default-domain opset. */
export interface ModelDef extends GraphDef {
  opset?: number;
  irVersion?: number;
  graphName?: string;
  producer?: string;
  /** ModelProto.metadata_props: free key/value strings (class names, provenance, ...). */
  metadata?: Record<string, string>;
}

/** Grows a byte buffer; protobuf is small-endian varints and length-delimited submessages. */
class Writer {
  private chunks: Uint8Array[] = [];
  private cur = new Uint8Array(256);
  private pos = 0;
  length = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.cur.length) return;
    this.flush();
    if (n > this.cur.length) this.cur = new Uint8Array(Math.max(n, 256));
  }
  private flush(): void {
    if (this.pos > 0) this.chunks.push(this.cur.slice(0, this.pos));
    this.cur = new Uint8Array(this.cur.length);
    this.pos = 0;
  }
  varint(v: number | bigint): void {
    // int64 fields (negative too) are written as 64-bit two's complement varints.
    let x = BigInt.asUintN(64, BigInt(v));
    this.ensure(10);
    while (x >= 0x80n) {
      this.cur[this.pos++] = Number(x & 0x7fn) | 0x80;
      x >>= 7n;
      this.length++;
    }
    this.cur[this.pos++] = Number(x);
    this.length++;
  }
  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }
  bytes(b: Uint8Array): void {
    if (b.length > 4096) {
      this.flush();
      this.chunks.push(b);
    } else {
      this.ensure(b.length);
      this.cur.set(b, this.pos);
      this.pos += b.length;
    }
    this.length += b.length;
  }
  finish(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
  // Field helpers
  int(field: number, v: number | bigint): void {
    this.tag(field, 0);
    this.varint(v);
  }
  str(field: number, s: string): void {
    this.lenDelim(field, new TextEncoder().encode(s));
  }
  lenDelim(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }
  msg(field: number, build: (w: Writer) => void): void {
    const w = new Writer();
    build(w);
    this.lenDelim(field, w.finish());
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes(b);
  }
}

function writeTensor(w: Writer, t: TensorDef): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, t.type);
  w.str(8, t.name);
  if (t.external) {
    const entries: [string, string][] = [
      ['location', t.external.location],
      ['offset', String(t.external.offset)],
      ['length', String(t.external.length)],
    ];
    for (const [k, v] of entries)
      w.msg(13, (e) => {
        e.str(1, k);
        e.str(2, v);
      });
    w.int(14, 1);
  } else w.lenDelim(9, t.raw);
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.str(1, v.name);
  w.msg(2, (tp) =>
    tp.msg(1, (tt) => {
      tt.int(1, v.type);
      tt.msg(2, (shape) => {
        for (const d of v.shape) shape.msg(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.str(2, d)));
      });
    }),
  );
}

function writeAttr(w: Writer, name: string, a: AttrValue): void {
  w.str(1, name);
  if ('i' in a) {
    w.int(3, a.i);
    w.int(20, 2);
  } else if ('f' in a) {
    w.float(2, a.f);
    w.int(20, 1);
  } else if ('s' in a) {
    w.lenDelim(4, new TextEncoder().encode(a.s));
    w.int(20, 3);
  } else if ('t' in a) {
    w.msg(5, (tw) => writeTensor(tw, a.t));
    w.int(20, 4);
  } else if ('g' in a) {
    w.msg(6, (gw) => writeGraph(gw, a.g));
    w.int(20, 5);
  } else if ('floats' in a) {
    for (const f of a.floats) w.float(7, f);
    w.int(20, 6);
  } else {
    for (const i of a.ints) w.int(8, i);
    w.int(20, 7);
  }
}

function writeGraph(g: Writer, m: GraphDef): void {
  m.nodes.forEach((n, idx) => g.msg(1, (nw) => writeNode(nw, n, idx)));
  g.str(2, m.graphName ?? 'graph');
  for (const t of m.initializers ?? []) g.msg(5, (tw) => writeTensor(tw, t));
  for (const v of m.inputs) g.msg(11, (vw) => writeValueInfo(vw, v));
  for (const v of m.outputs) g.msg(12, (vw) => writeValueInfo(vw, v));
}

function writeNode(nw: Writer, n: NodeDef, idx: number): void {
  for (const i of n.inputs) nw.str(1, i);
  for (const o of n.outputs) nw.str(2, o);
  nw.str(3, n.name ?? `${n.op}_${idx}`);
  nw.str(4, n.op);
  for (const [k, v] of Object.entries(n.attrs ?? {})) nw.msg(5, (aw) => writeAttr(aw, k, v));
}

/** GraphProto field numbers (onnx.proto3), for code that edits an encoded graph. */
export const GraphField = { node: 1, name: 2, initializer: 5, input: 11, output: 12, valueInfo: 13 } as const;

/**
 * One GraphProto field, tag included, ready to be concatenated into an encoded graph: a node, an
 * initializer, an input or an output (protobuf appends repeated fields in the order they appear).
 */
export function encodeGraphField(
  f: { node: NodeDef; index: number } | { initializer: TensorDef } | { input: ValueInfo } | { output: ValueInfo },
): Uint8Array {
  const w = new Writer();
  if ('node' in f) w.msg(GraphField.node, (nw) => writeNode(nw, f.node, f.index));
  else if ('initializer' in f) w.msg(GraphField.initializer, (tw) => writeTensor(tw, f.initializer));
  else if ('input' in f) w.msg(GraphField.input, (vw) => writeValueInfo(vw, f.input));
  else w.msg(GraphField.output, (vw) => writeValueInfo(vw, f.output));
  return w.finish();
}

/** A length-delimited field (tag, length, bytes) of the given field number. */
export function encodeLengthDelimited(field: number, parts: Uint8Array[]): Uint8Array[] {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const w = new Writer();
  w.tag(field, 2);
  w.varint(len);
  return [w.finish(), ...parts];
}

/** Encodes a model as ONNX protobuf bytes. */
export function encodeModel(m: ModelDef): Uint8Array {
  const w = new Writer();
  w.int(1, m.irVersion ?? 8);
  w.str(2, m.producer ?? 'dino-lab');
  w.msg(7, (g) => writeGraph(g, m));
  w.msg(8, (o) => {
    o.str(1, '');
    o.int(2, m.opset ?? 17);
  });
  for (const [k, v] of Object.entries(m.metadata ?? {})) writeMetadataEntry(w, k, v);
  return w.finish();
}

function writeMetadataEntry(w: Writer, key: string, value: string): void {
  // ModelProto.metadata_props (14): StringStringEntryProto { key = 1; value = 2 }
  w.msg(14, (e) => {
    e.str(1, key);
    e.str(2, value);
  });
}

/**
 * ModelProto.metadata_props entries, encoded, to append to an encoded model (protobuf fields may come in
 * any order, so appending them to a spliced backbone adds its metadata without re-encoding it).
 */
export function encodeMetadataProps(metadata: Record<string, string>): Uint8Array {
  const w = new Writer();
  for (const [k, v] of Object.entries(metadata)) writeMetadataEntry(w, k, v);
  return w.finish();
}

/** A float32 initializer from values. */
export function f32Tensor(name: string, dims: number[], values: Float32Array | number[]): TensorDef {
  const a = values instanceof Float32Array ? values : Float32Array.from(values);
  return { name, type: OnnxType.FLOAT, dims, raw: new Uint8Array(a.buffer, a.byteOffset, a.byteLength) };
}

/** An int64 initializer from values. */
export function i64Tensor(name: string, dims: number[], values: number[]): TensorDef {
  const a = BigInt64Array.from(values.map((v) => BigInt(v)));
  return { name, type: OnnxType.INT64, dims, raw: new Uint8Array(a.buffer) };
}
