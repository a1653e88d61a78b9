/** The mlp as an ONNX head: Linear(D, H) -> ReLU -> Linear(H, C) -> softmax, from its flat weights. */
import { dense, HeadBuilder, softmaxRows, type HeadGraph, type HeadIo } from '../head-graph';
import { mlpLayout } from './mlp-tfjs';

export function mlpHead(io: HeadIo, theta: Float32Array, D: number, H: number, C: number): HeadGraph {
  const L = mlpLayout(D, H, C);
  const b = new HeadBuilder();
  const h = b.op('Relu', [dense(b, io.input, theta.subarray(L.w1, L.b1), theta.subarray(L.b1, L.w2), D, H)]);
  const logits = dense(b, h, theta.subarray(L.w2, L.b2), theta.subarray(L.b2, L.total), H, C);
  return b.probabilitiesAndLabel(softmaxRows(b, logits), C);
}
