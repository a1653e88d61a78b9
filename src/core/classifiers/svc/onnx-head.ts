/**
 * The RBF SVC as an ONNX head, libsvm's svm_predict_values and vote: K = exp(-gamma |x - sv|^2) against
 * the support vectors, one decision value per class pair (K @ coef - rho), and the one-vs-one vote (ties
 * to the first class, as predict()). Outputs `decision_values` (scikit-learn's 'ovo' layout and sign, as
 * decisionFunction()) and `label`; libsvm's pairwise-coupled probabilities are not in the graph yet.
 */
import { OnnxType } from '../../onnx/onnx-writer';
import { HEAD_OUTPUTS, HeadBuilder, type HeadGraph, type HeadIo } from '../head-graph';
import type { SvcModel } from './svc-model';

export function svcHead(io: HeadIo, m: SvcModel): HeadGraph {
  const k = m.classes.length;
  const D = m.sv.cols;
  const total = m.sv.rows;
  const P = (k * (k - 1)) / 2;
  const b = new HeadBuilder();
  const x = io.input;
  // Pair coefficients as one [total, P] matrix (zero outside the pair's two classes).
  const coef = new Float32Array(total * P);
  const first = new Float32Array(P * k);
  const second = new Float32Array(P * k);
  const start = new Int32Array(k);
  for (let c = 1; c < k; c++) start[c] = start[c - 1]! + m.nSV[c - 1]!;
  let p = 0;
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      for (let s = start[i]!, e = s + m.nSV[i]!; s < e; s++) coef[s * P + p] = m.svCoef[(j - 1) * total + s]!;
      for (let s = start[j]!, e = s + m.nSV[j]!; s < e; s++) coef[s * P + p] = m.svCoef[i * total + s]!;
      first[p * k + i] = 1;
      second[p * k + j] = 1;
      p++;
    }
  }
  const svT = new Float32Array(D * total);
  for (let s = 0; s < total; s++) for (let j = 0; j < D; j++) svT[j * total + s] = m.sv.data[s * D + j]!;
  const sqX = b.op('MatMul', [b.op('Mul', [x, x]), b.f32('onesD', [D, 1], new Float32Array(D).fill(1))]); // [N, 1]
  const cross = b.op('MatMul', [x, b.f32('svT', [D, total], svT)]);
  const d2 = b.op('Sub', [b.op('Add', [sqX, b.f32('svSq', [1, total], Float32Array.from(m.svSq))]), b.op('Mul', [cross, b.f32('two', [], [2])])]);
  const K = b.op('Exp', [b.op('Mul', [d2, b.f32('negGamma', [], [-m.gamma])])]);
  const dec = b.op('Sub', [b.op('MatMul', [K, b.f32('coef', [total, P], coef)]), b.f32('rho', [P], Float32Array.from(m.rho))]);
  // scikit-learn flips libsvm's sign for two classes (positive favours the second class).
  if (k === 2) b.op('Neg', [dec], undefined, HEAD_OUTPUTS.decisionValues);
  else b.op('Identity', [dec], undefined, HEAD_OUTPUTS.decisionValues);
  const wins = b.op('Cast', [b.op('Greater', [dec, b.f32('zero', [], [0])])], { to: { i: OnnxType.FLOAT } });
  const losses = b.op('Sub', [b.f32('one', [], [1]), wins]);
  const votes = b.op('Add', [b.op('MatMul', [wins, b.f32('firstOf', [P, k], first)]), b.op('MatMul', [losses, b.f32('secondOf', [P, k], second)])]);
  const best = b.op('ArgMax', [votes], { axis: { i: 1 }, keepdims: { i: 0 } });
  b.op('Gather', [b.i64('classes', [k], Array.from(m.classes)), best], undefined, HEAD_OUTPUTS.label);
  return b.finish([
    { name: HEAD_OUTPUTS.decisionValues, type: OnnxType.FLOAT, shape: ['batch', P] },
    { name: HEAD_OUTPUTS.label, type: OnnxType.INT64, shape: ['batch'] },
  ]);
}
