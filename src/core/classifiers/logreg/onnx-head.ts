/** The linear probe as an ONNX head: the training set's standardisation, then W x + b and softmax. */
import { dense, HeadBuilder, softmaxRows, type HeadGraph, type HeadIo } from '../head-graph';

/** W row-major [D, K] on standardised features; mean/std the training statistics (identity when off). */
export function logregHead(io: HeadIo, p: { mean: Float32Array; std: Float32Array; W: Float32Array; b: Float32Array; D: number; K: number }): HeadGraph {
  const b = new HeadBuilder();
  const z = b.op('Div', [b.op('Sub', [io.input, b.f32('mean', [p.D], p.mean)]), b.f32('std', [p.D], p.std)]);
  return b.probabilitiesAndLabel(softmaxRows(b, dense(b, z, p.W, p.b, p.D, p.K)), p.K);
}
