/**
 * DINO's weighted k-NN as an ONNX head: the query L2-normalised, cosine similarity to the stored
 * (normalised) training vectors, TopK, and the vote weighted by exp((sim - top) / T), normalised to sum 1.
 * Sums are MatMuls against ones so the head needs no Reduce op (their axes moved to an input at opset 18).
 */
import { HeadBuilder, type HeadGraph, type HeadIo } from '../head-graph';

/** `train` holds n normalised rows of D values; `labels` their classes. */
export function knnHead(io: HeadIo, p: { train: Float32Array; labels: Int32Array; D: number; C: number; k: number; temperature: number }): HeadGraph {
  const n = p.labels.length;
  const k = Math.min(p.k, n);
  const b = new HeadBuilder();
  const x = io.input;
  const sumSq = b.op('MatMul', [b.op('Mul', [x, x]), b.f32('onesD', [p.D, 1], new Float32Array(p.D).fill(1))]);
  const norm = b.op('Max', [b.op('Sqrt', [sumSq]), b.f32('tiny', [], [1e-30])]);
  const q = b.op('Div', [x, norm]);
  // Stored transposed [D, n] so the similarity is one plain MatMul.
  const trainT = new Float32Array(p.D * n);
  for (let r = 0; r < n; r++) for (let j = 0; j < p.D; j++) trainT[j * n + r] = p.train[r * p.D + j]!;
  const sims = b.op('MatMul', [q, b.f32('trainT', [p.D, n], trainT)]);
  const [vals, idx] = b.multi('TopK', [sims, b.i64('k', [1], [k])], 2, { axis: { i: -1 }, largest: { i: 1 }, sorted: { i: 1 } });
  const labs = b.op('Gather', [b.i64('labels', [n], Array.from(p.labels)), idx!]);
  const top = b.op('Gather', [vals!, b.i64('first', [1], [0])], { axis: { i: 1 } });
  const w = b.op('Exp', [b.op('Div', [b.op('Sub', [vals!, top]), b.f32('T', [], [p.temperature])])]);
  const oneHot = b.op('OneHot', [labs, b.i64('depth', [1], [p.C]), b.f32('offOn', [2], [0, 1])], { axis: { i: -1 } }); // [N, k, C]
  const w3 = b.op('Reshape', [w, b.i64('shapeW', [3], [0, 1, -1])]); // [N, 1, k]
  const scores = b.op('Reshape', [b.op('MatMul', [w3, oneHot]), b.i64('shapeS', [2], [0, -1])]); // [N, C]
  const total = b.op('MatMul', [scores, b.f32('onesC', [p.C, 1], new Float32Array(p.C).fill(1))]);
  const proba = b.op('Div', [scores, total]);
  const bytes = n * p.D * 4;
  const notes = bytes > 100 * 1024 * 1024 ? [`The k-NN head holds its ${n.toLocaleString('en-US')} training vectors of ${p.D} values: ${(bytes / 1e6).toFixed(0)} MB.`] : [];
  const g = b.probabilitiesAndLabel(proba, p.C);
  return { ...g, notes };
}
