import { f32Tensor, type NodeDef, OnnxType, type TensorDef, type ValueInfo } from '../onnx/onnx-writer';
import { type Preset, NORMALIZE, presetGeometry } from './preprocess';
import { bicubicCoeffs } from './resize';

/** What the preprocessing graph takes and gives. */
export interface PreprocessGraphSpec {
  /** The size every image fed to the graph has (CIFAR: 32 x 32). */
  width: number;
  height: number;
  preset: Preset;
  /** Side of the model input (224 for DINOv2). */
  size: number;
  /** Name of the uint8 [batch, height, width, 3] input the graph adds. */
  inputName: string;
  /** Name and element type of the tensor it produces: the backbone's own input. */
  outputName: string;
  outputType: 'float32' | 'float16';
}

/** The nodes, initializers and input of a preprocessing graph, ready to be spliced before a backbone. */
export interface PreprocessGraph {
  input: ValueInfo;
  nodes: NodeDef[];
  initializers: TensorDef[];
}

const PRECISION = 2 ** 22;

/**
 * The [count, inSize] matrix that resizes one axis from inSize to outSize with Pillow's bicubic weights
 * (the same fixed-point coefficients src/core/images/resize.ts uses) and keeps outputs [c0, c0 + count).
 * An axis whose size does not change is a plain selection, as Pillow skips that pass.
 */
export function resizeMatrix(inSize: number, outSize: number, c0: number, count: number): Float32Array {
  const m = new Float32Array(count * inSize);
  if (inSize === outSize) {
    for (let r = 0; r < count; r++) m[r * inSize + c0 + r] = 1;
    return m;
  }
  const { ksize, bounds, kk } = bicubicCoeffs(inSize, outSize);
  for (let r = 0; r < count; r++) {
    const o = c0 + r;
    const xmin = bounds[o * 2]!;
    const n = bounds[o * 2 + 1]!;
    for (let x = 0; x < n; x++) m[r * inSize + xmin + x] = kk[o * ksize + x]! / PRECISION;
  }
  return m;
}

function transpose(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c]!;
  return t;
}

/**
 * A graph that does on the accelerator what src/core/images/preprocess.ts does in JS: uint8 HWC images
 * of one size in, the preset's resize (Pillow bicubic, horizontal pass then vertical, each rounded to
 * uint8 as Pillow does), crop and ImageNet normalisation, CHW float out. A CIFAR image then crosses to
 * the device as 3 KB instead of a 600 KB float tensor. Each resize pass is one MatMul with the Pillow
 * weights of the kept rows or columns; float32 sums can land on the other side of a .5 from Pillow's
 * integer sums, so a few values per image differ by one uint8 level (1/255/std, at most 0.0175).
 */
export function preprocessGraph(spec: PreprocessGraphSpec): PreprocessGraph {
  const { width: W, height: H, size: S } = spec;
  const g = presetGeometry(W, H, spec.preset, S);
  const p = (n: string): string => `dinolab/pre/${n}`;
  const kwT = transpose(resizeMatrix(W, g.width, g.x0, S), S, W); // [W, S]
  const kh = resizeMatrix(H, g.height, g.y0, S); // [S, H]
  const initializers: TensorDef[] = [
    f32Tensor(p('kwT'), [W, S], kwT),
    f32Tensor(p('kh'), [S, H], kh),
    f32Tensor(p('half'), [], [0.5]),
    f32Tensor(p('zero'), [], [0]),
    f32Tensor(p('255'), [], [255]),
    f32Tensor(p('mean'), [1, 3, 1, 1], NORMALIZE.mean.map(Math.fround)),
    f32Tensor(p('std'), [1, 3, 1, 1], NORMALIZE.std.map(Math.fround)),
  ];
  const nodes: NodeDef[] = [];
  const op = (type: string, inputs: string[], out: string, attrs?: NodeDef['attrs']): string => {
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  // Pillow stores each pass as uint8: (sum + 0.5) floored, clipped to [0, 255].
  const toUint8Levels = (x: string, tag: string): string =>
    op('Min', [op('Max', [op('Floor', [op('Add', [x, p('half')], p(`${tag}_add`))], p(`${tag}_floor`)), p('zero')], p(`${tag}_max`)), p('255')], p(`${tag}_u8`));

  const f = op('Cast', [spec.inputName], p('float'), { to: { i: OnnxType.FLOAT } });
  const chw = op('Transpose', [f], p('chw'), { perm: { ints: [0, 3, 1, 2] } }); // [B, 3, H, W]
  const horiz = toUint8Levels(op('MatMul', [chw, p('kwT')], p('h')), 'h'); // [B, 3, H, S]
  const vert = toUint8Levels(op('MatMul', [p('kh'), horiz], p('v')), 'v'); // [B, 3, S, S]
  // (v / 255 - mean) / std in float32, step by step as torchvision computes it.
  const scaled = op('Div', [vert, p('255')], p('scaled'));
  const centred = op('Sub', [scaled, p('mean')], p('centred'));
  if (spec.outputType === 'float16') {
    op('Cast', [op('Div', [centred, p('std')], p('normalised'))], spec.outputName, { to: { i: OnnxType.FLOAT16 } });
  } else {
    op('Div', [centred, p('std')], spec.outputName);
  }
  return {
    input: { name: spec.inputName, type: OnnxType.UINT8, shape: ['batch', H, W, 3] },
    nodes,
    initializers,
  };
}
