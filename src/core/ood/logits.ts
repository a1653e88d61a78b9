/**
 * The logits of a fitted classifier, for the energy score (Liu et al. 2020: E(x) = -logsumexp(logits);
 * the benchmark scores -E(x) = logsumexp(logits), higher = more in-distribution). A kind has logits when
 * its ONNX head (declared in its spec as `exportHead`, the same graph `export-model` writes) ends in
 * probabilities = Softmax(logits): logreg, mlp and keras. k-NN's probabilities are normalised neighbour
 * votes and svc's come from pairwise coupling: they have none, and get no energy score.
 * The head runs on onnxruntime with the Softmax's input as the graph's output.
 */
import { isClassifierKind } from '../../shared/contract';
import { getSpec } from '../classifiers/registry';
import { HEAD_OUTPUTS } from '../classifiers/head-graph';
import type { Classifier } from '../classifiers/types';
import { LabError } from '../errors';
import type { Matrix } from '../math/matrix';
import { encodeModel, OnnxType } from '../onnx/onnx-writer';
import { loadOrt } from '../onnx/ort';

const INPUT = 'dinolab/embedding';
const ROWS = 8192;

/** The logits (rows x classes) of X, or null when the kind's probabilities are not a softmax of logits. */
export async function classifierLogits(kind: string, clf: Classifier<object>, X: Matrix): Promise<Matrix | null> {
  if (!isClassifierKind(kind)) throw new LabError('bad_format', `Unknown classifier kind "${kind}".`);
  const head = getSpec(kind).exportHead(clf, { input: INPUT });
  const proba = head.nodes.find((n) => n.outputs.includes(HEAD_OUTPUTS.probabilities));
  const softmax = proba && head.nodes.find((n) => n.outputs.includes(proba.inputs[0]!));
  if (!proba || proba.op !== 'Identity' || !softmax || softmax.op !== 'Softmax') return null;
  const logits = softmax.inputs[0]!;
  const ort = await loadOrt();
  if (!ort) throw new LabError('internal', 'onnxruntime is not available: the energy score cannot be computed.');
  const bytes = encodeModel({
    inputs: [{ name: INPUT, type: OnnxType.FLOAT, shape: ['batch', X.cols] }],
    outputs: [{ name: logits, type: OnnxType.FLOAT, shape: ['batch', 'classes'] }],
    nodes: head.nodes,
    initializers: head.initializers,
    graphName: 'logits',
    opset: 17,
  });
  const sess = await ort.InferenceSession.create(bytes, { executionProviders: ['cpu'] });
  try {
    const parts: Float32Array[] = [];
    let C = 0;
    for (let r0 = 0; r0 < X.rows; r0 += ROWS) {
      const rb = Math.min(ROWS, X.rows - r0);
      const res = await sess.run({ [INPUT]: new ort.Tensor('float32', X.data.subarray(r0 * X.cols, (r0 + rb) * X.cols), [rb, X.cols]) }, [logits]);
      const t = res[logits]!;
      C = Number(t.dims[1]);
      parts.push(t.data as Float32Array);
    }
    const out = new Float32Array(X.rows * C);
    let off = 0;
    for (const p of parts) {
      out.set(p, off);
      off += p.length;
    }
    return { rows: X.rows, cols: C, data: out };
  } finally {
    await sess.release();
  }
}

/** logsumexp of each row (float64, shifted by the row's maximum): minus the energy. */
export function logSumExpRows(m: Matrix): Float64Array {
  const out = new Float64Array(m.rows);
  for (let i = 0; i < m.rows; i++) {
    let mx = -Infinity;
    for (let c = 0; c < m.cols; c++) mx = Math.max(mx, m.data[i * m.cols + c]!);
    let s = 0;
    for (let c = 0; c < m.cols; c++) s += Math.exp(m.data[i * m.cols + c]! - mx);
    out[i] = mx + Math.log(s);
  }
  return out;
}
