/**
 * The ONNX graphs of the dense nets' onnxruntime engine (mlp-onnx.ts): one training step (forward pass,
 * hand-written backward pass, Adam for both layers), the Loop of up to STEPS_PER_RUN steps over batches
 * gathered inside the graph, and the forward pass. The maths is written out in mlp-onnx.ts's header.
 */
import { encodeModel, f32Tensor, i64Tensor, OnnxType, type GraphDef, type NodeDef, type OnnxElemType, type TensorDef, type ValueInfo } from '../../onnx/onnx-writer';

const BOOL = 9 as OnnxElemType;

/** What a training graph is built for, besides the sizes: Adam's constants, Keras's clip, layer 1's Adam chunks. */
export interface GraphConfig {
  b1: number;
  b2: number;
  eps: number;
  /** Keras's probability clip (see TrainerOptions.clip); unset: none. */
  clip?: number;
  /** Floats per chunk of layer 1's Adam (default ADAM_CHUNK_FLOATS). */
  chunkFloats?: number;
}

/**
 * Floats per chunk of layer 1's state by default (128 KB a tensor; the trainer picks it per thread count,
 * mlp-onnx.ts's adamChunkFloats): W1, m1 and v1 are kept as row chunks of about this size when W1 is larger
 * than two chunks, so that Adam's 10 element-wise passes run chunk by chunk in the cache instead of streaming
 * the whole matrices (3 MB each at 3,072 inputs) through memory 10 times.
 */
const ADAM_CHUNK_FLOATS = 32768;

/** The row counts of layer 1's state chunks ([D+1]: one piece, unchunked). */
function adamChunks(D: number, H: number, chunkFloats = ADAM_CHUNK_FLOATS): number[] {
  const rows = Math.max(1, Math.floor(chunkFloats / H));
  const k = Math.ceil((D + 1) / rows);
  if (k <= 2) return [D + 1];
  return Array.from({ length: k }, (_, c) => Math.min(rows, D + 1 - c * rows));
}

/**
 * The state tensors, in the order the graphs carry them: [W1; b1] ((D+1) x H) as W1 or as row chunks W1c0,
 * W1c1, ... (likewise its Adam moments m1, v1), and [W2; b2] ((H+1) x C) with m2, v2.
 */
export function stateLayout(D: number, H: number, C: number, cfg: GraphConfig): { name: string; shape: [number, number] }[] {
  const rows = adamChunks(D, H, cfg.chunkFloats);
  const out: { name: string; shape: [number, number] }[] = [];
  for (const t of ['W', 'm', 'v']) {
    if (rows.length === 1) out.push({ name: `${t}1`, shape: [D + 1, H] });
    else rows.forEach((r, c) => out.push({ name: `${t}1c${c}`, shape: [r, H] }));
    out.push({ name: `${t}2`, shape: [H + 1, C] });
  }
  return out;
}

/**
 * The nodes of one training step. Local names go through `n` (a Loop body must not reuse outer names); the
 * step reads n('X'), n('Y'), n('<state>') and writes n('<state>_out'), n('logp'); invNb, kStep, kEpsT are
 * taken as given, and the constants are the graph's initializers.
 */
function stepNodes(n: (name: string) => string, invNb: string, kStep: string, kEpsT: string, clip: boolean, chunks1: number): NodeDef[] {
  const parts = Array.from({ length: chunks1 }, (_, c) => `c${c}`);
  // Keras's cross-entropy on softmax outputs (clip): a row whose true-class probability p_y lies outside
  // [clip, 1 - clip] gets no gradient (tfjs clips the probabilities, and a clipped value passes no gradient);
  // the kept rows' (p - y) is multiplied by exactly 1, so their bits do not change.
  const dz2In = clip ? n('diffk') : n('diff');
  const clipNodes: NodeDef[] = clip
    ? [
        { op: 'Mul', inputs: [n('prob'), n('Y')], outputs: [n('py_all')] },
        { op: 'ReduceSum', inputs: [n('py_all'), 'ax1'], outputs: [n('py')], attrs: { keepdims: { i: 1 } } },
        { op: 'GreaterOrEqual', inputs: [n('py'), 'kClipLo'], outputs: [n('above')] },
        { op: 'LessOrEqual', inputs: [n('py'), 'kClipHi'], outputs: [n('below')] },
        { op: 'And', inputs: [n('above'), n('below')], outputs: [n('keep')] },
        { op: 'Cast', inputs: [n('keep')], outputs: [n('keepF')], attrs: { to: { i: OnnxType.FLOAT } } },
        { op: 'Mul', inputs: [n('diff'), n('keepF')], outputs: [n('diffk')] },
      ]
    : [];
  const nodes: NodeDef[] = [
    // The constant 1 column of the batch doubles as the ones appended to the hidden activations.
    { op: 'Slice', inputs: [n('X'), 'colD', 'colD1', 'ax1'], outputs: [n('ones')] },
    ...(chunks1 > 1 ? forwardChunked(n, parts) : [{ op: 'MatMul', inputs: [n('X'), n('W1')], outputs: [n('z1')] }]),
    { op: 'Relu', inputs: [n('z1')], outputs: [n('a1')] },
    { op: 'Concat', inputs: [n('a1'), n('ones')], outputs: [n('a1e')], attrs: { axis: { i: 1 } } },
    { op: 'MatMul', inputs: [n('a1e'), n('W2')], outputs: [n('z2')] },
    { op: 'LogSoftmax', inputs: [n('z2')], outputs: [n('logp')], attrs: { axis: { i: 1 } } },
    { op: 'Exp', inputs: [n('logp')], outputs: [n('prob')] },
    { op: 'Sub', inputs: [n('prob'), n('Y')], outputs: [n('diff')] },
    ...clipNodes,
    { op: 'Mul', inputs: [dz2In, invNb], outputs: [n('dz2')] },
    { op: 'Gemm', inputs: [n('a1e'), n('dz2')], outputs: [n('g2')], attrs: { transA: { i: 1 } } },
    { op: 'Slice', inputs: [n('W2'), 'zero', 'rowH', 'ax0'], outputs: [n('W2top')] },
    { op: 'Gemm', inputs: [n('dz2'), n('W2top')], outputs: [n('da1')], attrs: { transB: { i: 1 } } },
    // step(a1) = 1 where a1 > 0, else 0; Sign of a ReLU output is exactly that.
    { op: 'Sign', inputs: [n('a1')], outputs: [n('mask')] },
    { op: 'Mul', inputs: [n('da1'), n('mask')], outputs: [n('dz1')] },
  ];
  nodes.push(...adamNodes(n, '2', kStep, kEpsT));
  if (chunks1 <= 1) {
    nodes.push({ op: 'Gemm', inputs: [n('X'), n('dz1')], outputs: [n('g1')], attrs: { transA: { i: 1 } } }, ...adamNodes(n, '1', kStep, kEpsT));
  } else {
    // Layer 1's Adam chunk by chunk: the element-wise passes over W1, m1, v1 and the gradient (3 MB each
    // at 3,072 inputs) are bound by memory bandwidth when they stream whole matrices; on 128 KB chunks
    // they stay in the L2 cache (measured 4.0 -> 0.9 ms for 13 passes over 0.79 M floats on one thread).
    // Each chunk's gradient rows come from their own product X_c^T dz1 (X_c: the batch's columns split in
    // forwardChunked): every gradient element is the same dot product over the batch as in the whole
    // product, and Adam is element-wise, so with whole-K-stride chunks the result is bit-identical to the
    // unchunked graph (mlp.test.ts checks it).
    for (const c of parts) {
      nodes.push({ op: 'Gemm', inputs: [n(`X${c}`), n('dz1')], outputs: [n(`g1${c}`)], attrs: { transA: { i: 1 } } }, ...adamNodes(n, `1${c}`, kStep, kEpsT));
    }
  }
  return nodes;
}

/**
 * Adam on the tensors W<i>, m<i>, v<i> with gradient g<i> (all through `n`), writing W<i>_out, m<i>_out, v<i>_out.
 * The moments are kept scaled, m~ = m / (1 - b1) and v~ = v / (1 - b2), which saves three of the thirteen
 * element-wise passes: m~' = b1 m~ + g, v~' = b2 v~ + g^2, W' = W - kStep m~' / (sqrt(v~') + kEps), with the
 * per-step scalars kStep = (lr / bc1) (1 - b1) sqrt(bc2 / (1 - b2)) and kEps = eps sqrt(bc2 / (1 - b2)): the
 * same update as PyTorch's (lr / bc1) m' / (sqrt(v') / sqrt(bc2) + eps), rounded differently.
 */
function adamNodes(n: (name: string) => string, i: string, kStep: string, kEps: string): NodeDef[] {
  const l = (x: string): string => n(`${x}${i}`);
  return [
    { op: 'Mul', inputs: [l('m'), 'kB1'], outputs: [l('ma')] },
    { op: 'Add', inputs: [l('ma'), l('g')], outputs: [n(`m${i}_out`)] },
    { op: 'Mul', inputs: [l('v'), 'kB2'], outputs: [l('va')] },
    { op: 'Mul', inputs: [l('g'), l('g')], outputs: [l('gsq')] },
    { op: 'Add', inputs: [l('va'), l('gsq')], outputs: [n(`v${i}_out`)] },
    { op: 'Sqrt', inputs: [n(`v${i}_out`)], outputs: [l('s')] },
    { op: 'Add', inputs: [l('s'), kEps], outputs: [l('den')] },
    { op: 'Div', inputs: [n(`m${i}_out`), l('den')], outputs: [l('r')] },
    { op: 'Mul', inputs: [l('r'), kStep], outputs: [l('u')] },
    { op: 'Sub', inputs: [l('W'), l('u')], outputs: [n(`W${i}_out`)] },
  ];
}

/**
 * The forward product X W1 when W1 is in row chunks, without putting W1 together (a copy of all of it every
 * step, 0.25 ms of 3.8 at 3,072 inputs): the batch's columns are split like W1's rows, and z1 = sum over
 * chunks of X_c W1_c, accumulated by Gemm's C input in chunk order. MLAS itself sums a product over K in
 * blocks of 128 rows (more when N < 128), adding each block's dot products to C, so chunks of whole blocks
 * give the bits of the one product. The split columns X_c also serve the chunks' gradient products.
 */
function forwardChunked(n: (name: string) => string, parts: string[]): NodeDef[] {
  const nodes: NodeDef[] = [{ op: 'Split', inputs: [n('X'), 'kSplit1'], outputs: parts.map((c) => n(`X${c}`)), attrs: { axis: { i: 1 } } }];
  parts.forEach((c, j) => {
    const out = j === parts.length - 1 ? n('z1') : n(`z1${c}`);
    const acc = j === 0 ? [] : [n(`z1${parts[j - 1]}`)];
    nodes.push({ op: 'Gemm', inputs: [n(`X${c}`), n(`W1${c}`), ...acc], outputs: [out], attrs: j === 0 ? {} : { beta: { f: 1 } } });
  });
  return nodes;
}

function constants(D: number, H: number, cfg: GraphConfig): TensorDef[] {
  const { b1, b2, clip } = cfg;
  const clipConsts = clip === undefined ? [] : [f32Tensor('kClipLo', [1], [clip]), f32Tensor('kClipHi', [1], [1 - clip])];
  const chunks = adamChunks(D, H, cfg.chunkFloats);
  return [
    ...clipConsts,
    ...(chunks.length > 1 ? [i64Tensor('kSplit1', [chunks.length], chunks)] : []),
    f32Tensor('kB1', [1], [b1]),
    f32Tensor('kB2', [1], [b2]),
    i64Tensor('colD', [1], [D]),
    i64Tensor('colD1', [1], [D + 1]),
    i64Tensor('zero', [1], [0]),
    i64Tensor('rowH', [1], [H]),
    i64Tensor('ax0', [1], [0]),
    i64Tensor('ax1', [1], [1]),
  ];
}

function stateInfo(D: number, H: number, C: number, cfg: GraphConfig, suffix = '', prefix = ''): ValueInfo[] {
  return stateLayout(D, H, C, cfg).map(({ name, shape }) => ({ name: `${prefix}${name}${suffix}`, type: OnnxType.FLOAT, shape }));
}

/**
 * The ONNX graph of one training step for Linear(D, H) -> ReLU -> Linear(H, C) with Adam (betas b1/b2, eps);
 * with `clip`, rows whose true-class probability is outside [clip, 1 - clip] pass no gradient (Keras).
 */
export function mlpTrainStepModel(D: number, H: number, C: number, cfg: GraphConfig): Uint8Array {
  const F = OnnxType.FLOAT;
  return encodeModel({
    inputs: [
      ...stateInfo(D, H, C, cfg),
      { name: 'X', type: F, shape: ['nb', D + 1] },
      { name: 'Y', type: F, shape: ['nb', C] },
      { name: 'invNb', type: F, shape: [1] },
      { name: 'kStep', type: F, shape: [1] },
      { name: 'kEpsT', type: F, shape: [1] },
    ],
    outputs: [...stateInfo(D, H, C, cfg, '_out'), { name: 'logp', type: F, shape: ['nb', C] }],
    initializers: constants(D, H, cfg),
    nodes: stepNodes((x) => x, 'invNb', 'kStep', 'kEpsT', cfg.clip !== undefined, adamChunks(D, H, cfg.chunkFloats).length),
    opset: 17,
  });
}

/**
 * The ONNX graph of `trip` full-batch (B rows) training steps in one Loop: the training rows Xall [N, D] and
 * their one-hot labels Yall [N, C] go in (onnxruntime reads input arrays in place); Perm [steps, B] (int64)
 * holds each step's row indices, KStep / KEpsT [steps] its Adam step size and 1 / sqrt(bc2). Outputs the
 * final state and logp [trip, B, C]. Bit-identical to `trip` runs of mlpTrainStepModel.
 */
export function mlpTrainLoopModel(D: number, H: number, C: number, B: number, cfg: GraphConfig): Uint8Array {
  const state = stateLayout(D, H, C, cfg).map((s) => s.name);
  const F = OnnxType.FLOAT;
  const n = (x: string): string => `b_${x}`;
  const body: GraphDef = {
    inputs: [
      { name: n('iter'), type: OnnxType.INT64, shape: [] },
      { name: n('cond'), type: BOOL, shape: [] },
      ...stateInfo(D, H, C, cfg, '', 'b_'),
    ],
    outputs: [{ name: n('cond_out'), type: BOOL, shape: [] }, ...stateInfo(D, H, C, cfg, '_out', 'b_'), { name: n('logp'), type: F, shape: [B, C] }],
    nodes: [
      { op: 'Identity', inputs: [n('cond')], outputs: [n('cond_out')] },
      { op: 'Gather', inputs: ['Perm', n('iter')], outputs: [n('idx')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['Xall', n('idx')], outputs: [n('Xraw')], attrs: { axis: { i: 0 } } },
      { op: 'Concat', inputs: [n('Xraw'), 'onesB'], outputs: [n('X')], attrs: { axis: { i: 1 } } },
      { op: 'Gather', inputs: ['Yall', n('idx')], outputs: [n('Y')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['KStep', n('iter')], outputs: [n('kStep')], attrs: { axis: { i: 0 } } },
      { op: 'Gather', inputs: ['KEpsT', n('iter')], outputs: [n('kEpsT')], attrs: { axis: { i: 0 } } },
      ...stepNodes(n, 'invNb', n('kStep'), n('kEpsT'), cfg.clip !== undefined, adamChunks(D, H, cfg.chunkFloats).length),
    ],
    graphName: 'step',
  };
  return encodeModel({
    inputs: [
      ...stateInfo(D, H, C, cfg),
      { name: 'Xall', type: F, shape: ['N', D] },
      { name: 'Yall', type: F, shape: ['N', C] },
      { name: 'Perm', type: OnnxType.INT64, shape: ['steps', B] },
      { name: 'KStep', type: F, shape: ['steps'] },
      { name: 'KEpsT', type: F, shape: ['steps'] },
      { name: 'trip', type: OnnxType.INT64, shape: [] },
      { name: 'invNb', type: F, shape: [1] },
    ],
    outputs: [...stateInfo(D, H, C, cfg, '_out'), { name: 'logp', type: F, shape: ['trip', B, C] }],
    initializers: [
      ...constants(D, H, cfg),
      { name: 'condTrue', type: BOOL, dims: [], raw: Uint8Array.of(1) },
      f32Tensor('onesB', [B, 1], new Float32Array(B).fill(1)),
    ],
    nodes: [
      {
        op: 'Loop',
        inputs: ['trip', 'condTrue', ...state],
        outputs: [...state.map((k) => `${k}_out`), 'logp'],
        name: 'epoch',
        attrs: { body: { g: body } },
      },
    ],
    opset: 17,
  });
}

/**
 * The ONNX graph of the net's forward pass for the per-epoch validation: X [n, D] and the current
 * [W1; b1] ((D+1) x H), [W2; b2] ((H+1) x C) as inputs (no session per epoch), softmax probabilities [n, C] out.
 */
export function mlpForwardModel(D: number, H: number, C: number): Uint8Array {
  const F = OnnxType.FLOAT;
  return encodeModel({
    inputs: [
      { name: 'X', type: F, shape: ['n', D] },
      { name: 'W1', type: F, shape: [D + 1, H] },
      { name: 'W2', type: F, shape: [H + 1, C] },
    ],
    outputs: [{ name: 'P', type: F, shape: ['n', C] }],
    initializers: [
      i64Tensor('zero', [1], [0]),
      i64Tensor('rowD', [1], [D]),
      i64Tensor('rowD1', [1], [D + 1]),
      i64Tensor('rowH', [1], [H]),
      i64Tensor('rowH1', [1], [H + 1]),
      i64Tensor('ax0', [1], [0]),
    ],
    nodes: [
      { op: 'Slice', inputs: ['W1', 'zero', 'rowD', 'ax0'], outputs: ['W1top'] },
      { op: 'Slice', inputs: ['W1', 'rowD', 'rowD1', 'ax0'], outputs: ['b1'] },
      { op: 'Slice', inputs: ['W2', 'zero', 'rowH', 'ax0'], outputs: ['W2top'] },
      { op: 'Slice', inputs: ['W2', 'rowH', 'rowH1', 'ax0'], outputs: ['b2'] },
      { op: 'Gemm', inputs: ['X', 'W1top', 'b1'], outputs: ['z1'] },
      { op: 'Relu', inputs: ['z1'], outputs: ['a1'] },
      { op: 'Gemm', inputs: ['a1', 'W2top', 'b2'], outputs: ['z2'] },
      { op: 'Softmax', inputs: ['z2'], outputs: ['P'], attrs: { axis: { i: 1 } } },
    ],
    opset: 17,
  });
}
