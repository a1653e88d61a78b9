/**
 * RBF kernel blocks through onnxruntime's CPU matrix product (MLAS: SIMD and all cores), which is an
 * order of magnitude faster per flop than a JavaScript loop. The graph is built here as ONNX protobuf
 * bytes: K = exp(-gamma * (|a|^2 + |b|^2 - 2 A B^T)).
 */
import type { Matrix } from './types';

type Ort = typeof import('onnxruntime-node');
type Session = import('onnxruntime-node').InferenceSession;

let ortPromise: Promise<Ort | null> | null = null;
let sessionPromise: Promise<Session | null> | null = null;

function loadOrt(): Promise<Ort | null> {
  ortPromise ??= import('onnxruntime-node').then(
    (m) => ((m as unknown as { default?: Ort }).default ?? m) as Ort,
    () => null,
  );
  return ortPromise;
}

/** The onnxruntime session computing RBF blocks, or null when onnxruntime-node cannot be loaded. */
function session(): Promise<Session | null> {
  sessionPromise ??= loadOrt().then(async (ort) => {
    if (!ort) return null;
    try {
      return await ort.InferenceSession.create(rbfModelBytes(), { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
    } catch {
      return null;
    }
  });
  return sessionPromise;
}

/**
 * K[i * B.rows + j] = exp(-gamma ||A_i - B_j||^2), or null when onnxruntime is unavailable (the caller
 * then falls back to JavaScript). sqA / sqB are the rows' squared norms.
 */
export async function rbfOnnx(A: Matrix, sqA: Float64Array, B: Matrix, sqB: Float64Array, gamma: number): Promise<Float32Array | null> {
  const s = await session();
  const ort = await loadOrt();
  if (!s || !ort) return null;
  const out = await s.run({
    A: new ort.Tensor('float32', A.data, [A.rows, A.cols]),
    B: new ort.Tensor('float32', B.data, [B.rows, B.cols]),
    sqA: new ort.Tensor('float32', Float32Array.from(sqA), [A.rows, 1]),
    sqB: new ort.Tensor('float32', Float32Array.from(sqB), [1, B.rows]),
    negGamma: new ort.Tensor('float32', Float32Array.of(-gamma), [1]),
  });
  return out.K!.data as Float32Array;
}

/** The pair matrix K(rows, rows) for a subset of X's rows, through onnxruntime (null when unavailable). */
export async function rbfBlockOnnx(X: Matrix, sq: Float64Array, rows: Int32Array, gamma: number): Promise<Float32Array | null> {
  const d = X.cols;
  const sub = new Float32Array(rows.length * d);
  const n = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i]!;
    sub.set(X.data.subarray(r * d, (r + 1) * d), i * d);
    n[i] = sq[r]!;
  }
  const M: Matrix = { rows: rows.length, cols: d, data: sub };
  return rbfOnnx(M, n, M, n, gamma);
}

// --- minimal protobuf writer for the ONNX ModelProto -------------------------------------------

function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function field(num: number, wire: number): number[] {
  return varint(num * 8 + wire);
}

function bytesField(num: number, payload: number[] | Uint8Array): number[] {
  return [...field(num, 2), ...varint(payload.length), ...payload];
}

function str(num: number, s: string): number[] {
  return bytesField(num, Buffer.from(s, 'utf8'));
}

function intField(num: number, v: number): number[] {
  return [...field(num, 0), ...varint(v)];
}

function floatAttr(name: string, v: number): number[] {
  const f = Buffer.alloc(4);
  f.writeFloatLE(v);
  return [...str(1, name), ...field(2, 5), ...f, ...intField(20, 1)];
}

function intAttr(name: string, v: number): number[] {
  return [...str(1, name), ...intField(3, v), ...intField(20, 2)];
}

function node(op: string, inputs: string[], outputs: string[], attrs: number[][] = []): number[] {
  return [...inputs.flatMap((s) => str(1, s)), ...outputs.flatMap((s) => str(2, s)), ...str(4, op), ...attrs.flatMap((a) => bytesField(5, a))];
}

/** A float tensor value: dims are numbers (fixed) or strings (symbolic). */
function valueInfo(name: string, dims: (number | string)[]): number[] {
  const shape = dims.flatMap((d) => bytesField(1, typeof d === 'number' ? intField(1, d) : str(2, d)));
  const tensorType = [...intField(1, 1), ...bytesField(2, shape)];
  return [...str(1, name), ...bytesField(2, bytesField(1, tensorType))];
}

/** The ONNX model (opset 17) of K = Exp(negGamma * (sqA + sqB - 2 A B^T)). */
export function rbfModelBytes(): Uint8Array {
  const graph = [
    ...bytesField(1, node('Gemm', ['A', 'B'], ['AB'], [floatAttr('alpha', -2), intAttr('transB', 1)])),
    ...bytesField(1, node('Add', ['AB', 'sqA'], ['T1'])),
    ...bytesField(1, node('Add', ['T1', 'sqB'], ['T2'])),
    ...bytesField(1, node('Mul', ['T2', 'negGamma'], ['T3'])),
    ...bytesField(1, node('Exp', ['T3'], ['K'])),
    ...str(2, 'rbf'),
    ...bytesField(11, valueInfo('A', ['M', 'D'])),
    ...bytesField(11, valueInfo('B', ['N', 'D'])),
    ...bytesField(11, valueInfo('sqA', ['M', 1])),
    ...bytesField(11, valueInfo('sqB', [1, 'N'])),
    ...bytesField(11, valueInfo('negGamma', [1])),
    ...bytesField(12, valueInfo('K', ['M', 'N'])),
  ];
  const model = [...intField(1, 8), ...str(2, 'dinolab'), ...bytesField(7, graph), ...bytesField(8, [...str(1, ''), ...intField(2, 17)])];
  return Uint8Array.from(model);
}
