/** The keras net as an ONNX head: Dense(H, relu) -> Dense(C, softmax), from its layers' weights. */
import { dense, HeadBuilder, softmaxRows, type HeadGraph, type HeadIo } from '../head-graph';

/** `weights` as TensorFlow.js getWeights() gives them: kernel1 [D, H], bias1, kernel2 [H, C], bias2. */
export function kerasHead(io: HeadIo, weights: Float32Array[], D: number, H: number, C: number): HeadGraph {
  const [k1, b1, k2, b2] = weights;
  const b = new HeadBuilder();
  const h = b.op('Relu', [dense(b, io.input, k1!, b1!, D, H)]);
  return b.probabilitiesAndLabel(softmaxRows(b, dense(b, h, k2!, b2!, H, C)), C);
}
