import { encodeModel, f32Tensor, i64Tensor, type Dim, OnnxType, type OnnxElemType } from '../onnx/onnx-writer';

/**
 * Tiny ONNX models for tests and benchmarks (each builds in microseconds): a well-formed backbone and
 * the malformed shapes the backbone validator must refuse.
 */

/** A valid small backbone: stride-`patch` Conv to `dim` channels, mean over positions -> pooler_output [B, dim]. */
export function tinyBackbone(opts: { dim?: number; size?: number; patch?: number; seed?: number; outputName?: string } = {}): Uint8Array {
  const dim = opts.dim ?? 8;
  const size = opts.size ?? 224;
  const patch = opts.patch ?? 14;
  let s = (opts.seed ?? 1) >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const w = new Float32Array(dim * 3 * patch * patch).map(() => rnd() * 0.1);
  const b = new Float32Array(dim).map(() => rnd());
  return encodeModel({
    inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, size, size] }],
    outputs: [{ name: opts.outputName ?? 'pooler_output', type: OnnxType.FLOAT, shape: ['batch', dim] }],
    initializers: [f32Tensor('w', [dim, 3, patch, patch], w), f32Tensor('b', [dim], b)],
    nodes: [
      { op: 'Conv', inputs: ['pixel_values', 'w', 'b'], outputs: ['c'], attrs: { kernel_shape: { ints: [patch, patch] }, strides: { ints: [patch, patch] } } },
      { op: 'ReduceMean', inputs: ['c'], outputs: [opts.outputName ?? 'pooler_output'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
    ],
  });
}

/** A one-node model: input -> op -> output, with the given types and shapes. */
export function oneNodeModel(p: {
  op: string;
  input: { name: string; type?: OnnxElemType; shape: Dim[] };
  output: { name: string; type?: OnnxElemType; shape: Dim[] };
  attrs?: Parameters<typeof encodeModel>[0]['nodes'][number]['attrs'];
}): Uint8Array {
  return encodeModel({
    inputs: [{ name: p.input.name, type: p.input.type ?? OnnxType.FLOAT, shape: p.input.shape }],
    outputs: [{ name: p.output.name, type: p.output.type ?? OnnxType.FLOAT, shape: p.output.shape }],
    nodes: [{ op: p.op, inputs: [p.input.name], outputs: [p.output.name], attrs: p.attrs }],
  });
}

/** [B, 3, S, S] -> last_hidden_state [B, S*S, 3] (tokens = pixels), so token 0 is pixel (0, 0). */
export function tokensModel(size = 8): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, size, size] }],
    outputs: [{ name: 'last_hidden_state', type: OnnxType.FLOAT, shape: ['batch', size * size, 3] }],
    initializers: [i64Tensor('shape', [3], [0, 3, -1])],
    nodes: [
      { op: 'Reshape', inputs: ['pixel_values', 'shape'], outputs: ['flat'] },
      { op: 'Transpose', inputs: ['flat'], outputs: ['last_hidden_state'], attrs: { perm: { ints: [0, 2, 1] } } },
    ],
  });
}

/** A backbone whose output is NaN for positive inputs (sqrt of a negative). */
export function nanModel(size = 8): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, size, size] }],
    outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT, shape: ['batch', 3] }],
    nodes: [
      { op: 'ReduceMean', inputs: ['pixel_values'], outputs: ['m'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
      { op: 'Abs', inputs: ['m'], outputs: ['a'] },
      { op: 'Neg', inputs: ['a'], outputs: ['n'] },
      { op: 'Sqrt', inputs: ['n'], outputs: ['pooler_output'] },
    ],
  });
}

/** A float16 backbone: mean over positions of a float16 [B, 3, S, S] input -> pooler_output float16 [B, 3]. */
export function f16Model(size = 8): Uint8Array {
  return oneNodeModel({
    op: 'ReduceMean',
    input: { name: 'pixel_values', type: OnnxType.FLOAT16, shape: ['batch', 3, size, size] },
    output: { name: 'pooler_output', type: OnnxType.FLOAT16, shape: ['batch', 3] },
    attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } },
  });
}
