import { encodeGraphField, encodeLengthDelimited, GraphField, type NodeDef, type TensorDef, type ValueInfo } from './onnx-writer';

/**
 * Edits an encoded ONNX model without decoding it: the graph's top-level fields are walked as raw
 * protobuf and copied as byte ranges, so a 1 GB backbone is spliced in one pass with no ONNX library.
 * Used to put a preprocessing graph in front of a backbone and to trim its outputs.
 */

/** One protobuf field of a message: number, wire type, and byte ranges of the whole field and its payload. */
interface RawField {
  field: number;
  wire: number;
  start: number;
  end: number;
  /** Payload of a length-delimited field (wire 2); the varint value otherwise. */
  dataStart: number;
  value: number;
}

function readVarint(b: Uint8Array, pos: number): [number, number] {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos >= b.length) throw new Error('truncated varint');
    const byte = b[pos++]!;
    v += (byte & 0x7f) * mul;
    if ((byte & 0x80) === 0) return [v, pos];
    mul *= 128;
  }
  throw new Error('varint too long');
}

function* fields(b: Uint8Array, start: number, end: number): Generator<RawField> {
  let pos = start;
  while (pos < end) {
    const fStart = pos;
    const [tag, p1] = readVarint(b, pos);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    let dataStart = p1;
    let value = 0;
    if (wire === 0) {
      [value, pos] = readVarint(b, p1);
    } else if (wire === 1) {
      pos = p1 + 8;
    } else if (wire === 5) {
      pos = p1 + 4;
    } else if (wire === 2) {
      const [len, p2] = readVarint(b, p1);
      dataStart = p2;
      value = len;
      pos = p2 + len;
    } else {
      throw new Error(`unsupported protobuf wire type ${wire} at byte ${fStart}`);
    }
    if (pos > end) throw new Error(`field ${field} runs past its message (byte ${fStart})`);
    yield { field, wire, start: fStart, end: pos, dataStart, value };
  }
}

/** Payload range of a length-delimited field. */
function sub(f: RawField): [number, number] {
  return [f.dataStart, f.dataStart + f.value];
}

function stringField(b: Uint8Array, start: number, end: number, field: number): string | null {
  for (const f of fields(b, start, end)) {
    if (f.field === field && f.wire === 2) return new TextDecoder().decode(b.subarray(f.dataStart, f.dataStart + f.value));
  }
  return null;
}

/** A graph input or output as the model declares it: name and ONNX element type (0 when not a tensor). */
export interface DeclaredValue {
  name: string;
  elemType: number;
}

/** What a splice needs to know about a model before editing it. */
export interface ModelFacts {
  irVersion: number;
  /** Version of the default ('' or 'ai.onnx') operator set. */
  opset: number;
  inputs: DeclaredValue[];
  outputs: DeclaredValue[];
  /** True when some initializer keeps its data in an external file (such models cannot load from bytes). */
  externalData: boolean;
}

function declaredValue(b: Uint8Array, start: number, end: number): DeclaredValue {
  let name = '';
  let elemType = 0;
  for (const f of fields(b, start, end)) {
    if (f.field === 1 && f.wire === 2) name = new TextDecoder().decode(b.subarray(...sub(f)));
    if (f.field === 2 && f.wire === 2) {
      // TypeProto.tensor_type (1) -> TypeProto.Tensor.elem_type (1)
      for (const t of fields(b, ...sub(f))) {
        if (t.field !== 1 || t.wire !== 2) continue;
        for (const e of fields(b, ...sub(t))) if (e.field === 1 && e.wire === 0) elemType = e.value;
      }
    }
  }
  return { name, elemType };
}

function graphRange(model: Uint8Array): RawField {
  let graph: RawField | null = null;
  for (const f of fields(model, 0, model.length)) {
    if (f.field === 7 && f.wire === 2) {
      if (graph) throw new Error('the model has two graph fields');
      graph = f;
    }
  }
  if (!graph) throw new Error('the model has no graph');
  return graph;
}

/** Reads the facts a splice depends on (throws on bytes that are not a protobuf ModelProto). */
export function modelFacts(model: Uint8Array): ModelFacts {
  let irVersion = 0;
  let opset = 0;
  for (const f of fields(model, 0, model.length)) {
    if (f.field === 1 && f.wire === 0) irVersion = f.value;
    if (f.field === 8 && f.wire === 2) {
      const domain = stringField(model, ...sub(f), 1) ?? '';
      let version = 0;
      for (const o of fields(model, ...sub(f))) if (o.field === 2 && o.wire === 0) version = o.value;
      if (domain === '' || domain === 'ai.onnx') opset = version;
    }
  }
  const g = graphRange(model);
  const inputs: DeclaredValue[] = [];
  const outputs: DeclaredValue[] = [];
  let externalData = false;
  for (const f of fields(model, ...sub(g))) {
    if (f.wire !== 2) continue;
    if (f.field === GraphField.input) inputs.push(declaredValue(model, ...sub(f)));
    else if (f.field === GraphField.output) outputs.push(declaredValue(model, ...sub(f)));
    else if (f.field === GraphField.initializer && !externalData) {
      // TensorProto.data_location (14): 1 = EXTERNAL
      for (const t of fields(model, ...sub(f))) if (t.field === 14 && t.wire === 0 && t.value === 1) externalData = true;
    }
  }
  return { irVersion, opset, inputs, outputs, externalData };
}

/** The edit spliceModel makes. */
export interface SpliceSpec {
  /** Graph inputs to drop: new nodes produce them instead. */
  removeInputs: string[];
  /** New graph inputs. */
  inputs: ValueInfo[];
  /** Nodes placed before the model's own (they feed it), and after (they read its values). */
  nodesBefore: NodeDef[];
  nodesAfter: NodeDef[];
  initializers: TensorDef[];
  /** The graph outputs after the splice: all of the model's own outputs are replaced by these. */
  outputs: ValueInfo[];
}

/**
 * Returns the model with the spec applied: new nodes first (ONNX wants topological order), then the
 * original graph's fields except the removed inputs and the old outputs, then the new initializers,
 * inputs and outputs. Node names get a `dinolab/` prefix so they cannot collide with the model's.
 */
export function spliceModel(model: Uint8Array, spec: SpliceSpec): Uint8Array {
  const g = graphRange(model);
  const drop = new Set(spec.removeInputs);
  const graphParts: Uint8Array[] = [];
  spec.nodesBefore.forEach((node, i) => graphParts.push(encodeGraphField({ node: { ...node, name: node.name ?? `dinolab/pre/${node.op}_${i}` }, index: i })));
  for (const f of fields(model, ...sub(g))) {
    if (f.wire === 2 && f.field === GraphField.output) continue;
    if (f.wire === 2 && f.field === GraphField.input && drop.has(declaredValue(model, ...sub(f)).name)) continue;
    graphParts.push(model.subarray(f.start, f.end));
  }
  spec.nodesAfter.forEach((node, i) => graphParts.push(encodeGraphField({ node: { ...node, name: node.name ?? `dinolab/post/${node.op}_${i}` }, index: i })));
  for (const t of spec.initializers) graphParts.push(encodeGraphField({ initializer: t }));
  for (const v of spec.inputs) graphParts.push(encodeGraphField({ input: v }));
  for (const v of spec.outputs) graphParts.push(encodeGraphField({ output: v }));

  const parts: Uint8Array[] = [model.subarray(0, g.start), ...encodeLengthDelimited(7, graphParts), model.subarray(g.end)];
  const total = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** The files a model's initializers keep their data in (TensorProto.external_data 'location'), each once. */
export function externalDataFiles(model: Uint8Array): string[] {
  const g = graphRange(model);
  const out = new Set<string>();
  for (const f of fields(model, ...sub(g))) {
    if (f.wire !== 2 || f.field !== GraphField.initializer) continue;
    let external = false;
    const locations: string[] = [];
    for (const t of fields(model, ...sub(f))) {
      if (t.field === 14 && t.wire === 0 && t.value === 1) external = true;
      // TensorProto.external_data (13): StringStringEntryProto { key = 1; value = 2 }
      if (t.field === 13 && t.wire === 2 && stringField(model, ...sub(t), 1) === 'location') locations.push(stringField(model, ...sub(t), 2) ?? '');
    }
    if (external) for (const l of locations) if (l) out.add(l);
  }
  return [...out];
}
