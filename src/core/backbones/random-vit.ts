import fs from 'node:fs';
import path from 'node:path';
import { mulberry32 } from '../math/prng';
import { f32ToF16 } from '../embeddings/float16';
import { encodeModel, f32Tensor, i64Tensor, type NodeDef, type TensorDef, OnnxType } from '../onnx/onnx-writer';

/** Architecture of the random baseline: DINOv2's ViT-S/14 at 224 (16x16 patches + CLS). */
export const RANDOM_VIT_S14 = { patch: 14, dim: 384, depth: 12, heads: 6, mlp: 1536, imageSize: 224, seed: 0 } as const;

/** File name of the cached model in modelsDir (the seed is part of it so other seeds never collide). */
export function randomVitFileName(seed: number = RANDOM_VIT_S14.seed): string {
  return `random-vit-s14-seed${seed}.onnx`;
}

/** Normal(0, std) truncated at +-2 std (timm's trunc_normal_ with DINOv2's std 0.02 init). */
function truncNormal(rand: () => number, n: number, std: number): Float32Array {
  const out = new Float32Array(n);
  let i = 0;
  while (i < n) {
    const u1 = rand() || 1e-12;
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    const z0 = r * Math.cos(2 * Math.PI * u2);
    const z1 = r * Math.sin(2 * Math.PI * u2);
    if (Math.abs(z0) <= 2) out[i++] = z0 * std;
    if (i < n && Math.abs(z1) <= 2) out[i++] = z1 * std;
  }
  return out;
}

/**
 * Builds the ONNX bytes of a ViT-S/14 with seeded random weights (trunc-normal std 0.02 for weights and
 * position embeddings, zero biases, LayerNorm 1/0, CLS ~ N(0, 1e-6) as in DINOv2's init). Input
 * `pixel_values` float32 [batch, 3, 224, 224]; output `pooler_output` [batch, 384] = final-LayerNorm CLS.
 * With `float16`, the same weights rounded to half precision and a float16 input and output throughout,
 * like a half-precision export (`model_fp16.onnx`).
 */
export function buildRandomVitS14(seed: number = RANDOM_VIT_S14.seed, opts: { float16?: boolean } = {}): Uint8Array {
  const floatTensor = (name: string, dims: number[], values: Float32Array): TensorDef => {
    if (!opts.float16) return f32Tensor(name, dims, values);
    const h = f32ToF16(values);
    return { name, type: OnnxType.FLOAT16, dims, raw: new Uint8Array(h.buffer, h.byteOffset, h.byteLength) };
  };
  const floatType = opts.float16 ? OnnxType.FLOAT16 : OnnxType.FLOAT;
  const { patch, dim, depth, heads, mlp, imageSize } = RANDOM_VIT_S14;
  const grid = imageSize / patch;
  const tokens = grid * grid + 1;
  const headDim = dim / heads;
  const rand = mulberry32(seed);
  const inits: TensorDef[] = [];
  const nodes: NodeDef[] = [];
  const w = (name: string, dims: number[], std = 0.02): string => {
    inits.push(floatTensor(name, dims, truncNormal(rand, dims.reduce((a, b) => a * b, 1), std)));
    return name;
  };
  const c = (name: string, dims: number[], value: number): string => {
    inits.push(floatTensor(name, dims, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value)));
    return name;
  };
  const ci = (name: string, values: number[], dims: number[] = [values.length]): string => {
    inits.push(i64Tensor(name, dims, values));
    return name;
  };
  const op = (opType: string, inputs: string[], out: string, attrs?: NodeDef['attrs']): string => {
    nodes.push({ op: opType, inputs, outputs: [out], attrs });
    return out;
  };
  const ln = (x: string, p: string): string =>
    op('LayerNormalization', [x, c(`${p}.weight`, [dim], 1), c(`${p}.bias`, [dim], 0)], `${p}.out`, { axis: { i: -1 }, epsilon: { f: 1e-6 } });
  const linear = (x: string, p: string, inDim: number, outDim: number): string =>
    op('Add', [op('MatMul', [x, w(`${p}.weight`, [inDim, outDim])], `${p}.mm`), c(`${p}.bias`, [outDim], 0)], `${p}.out`);

  // Patchify with a stride-14 convolution, as PatchEmbed does.
  let x = op('Conv', ['pixel_values', w('patch_embed.weight', [dim, 3, patch, patch]), c('patch_embed.bias', [dim], 0)], 'patch.conv', {
    kernel_shape: { ints: [patch, patch] },
    strides: { ints: [patch, patch] },
  });
  x = op('Reshape', [x, ci('shape.flat', [0, dim, -1])], 'patch.flat');
  x = op('Transpose', [x], 'patch.tokens', { perm: { ints: [0, 2, 1] } });
  // The CLS token is expanded to the runtime batch size taken from the input's shape.
  const shape = op('Shape', ['pixel_values'], 'input.shape');
  const batch = op('Slice', [shape, ci('slice.start', [0]), ci('slice.end', [1])], 'input.batch');
  const clsShape = op('Concat', [batch, ci('cls.tail', [1, dim])], 'cls.shape', { axis: { i: 0 } });
  const cls = op('Expand', [w('cls_token', [1, 1, dim], 1e-6), clsShape], 'cls.expanded');
  x = op('Concat', [cls, x], 'tokens', { axis: { i: 1 } });
  x = op('Add', [x, w('pos_embed', [1, tokens, dim])], 'tokens.pos');

  const scale = c('attn.scale', [], 1 / Math.sqrt(headDim));
  const half = c('gelu.half', [], 0.5);
  const one = c('gelu.one', [], 1);
  const invSqrt2 = c('gelu.inv_sqrt2', [], Math.SQRT1_2);
  const qkvShape = ci('shape.qkv', [0, -1, 3, heads, headDim]);
  const mergeShape = ci('shape.merge', [0, -1, dim]);
  for (let b = 0; b < depth; b++) {
    const p = `blocks.${b}`;
    const h = ln(x, `${p}.norm1`);
    let qkv = linear(h, `${p}.attn.qkv`, dim, 3 * dim);
    qkv = op('Reshape', [qkv, qkvShape], `${p}.qkv.split`);
    qkv = op('Transpose', [qkv], `${p}.qkv.heads`, { perm: { ints: [2, 0, 3, 1, 4] } });
    const pick = (i: number, n: string): string => op('Gather', [qkv, ci(`${p}.idx.${n}`, [i], [])], `${p}.${n}`, { axis: { i: 0 } });
    const q = pick(0, 'q');
    const k = pick(1, 'k');
    const v = pick(2, 'v');
    const kt = op('Transpose', [k], `${p}.kt`, { perm: { ints: [0, 1, 3, 2] } });
    let a = op('Mul', [op('MatMul', [q, kt], `${p}.scores`), scale], `${p}.scaled`);
    a = op('Softmax', [a], `${p}.attn.probs`, { axis: { i: -1 } });
    let o = op('MatMul', [a, v], `${p}.attn.ctx`);
    o = op('Transpose', [o], `${p}.attn.ctx.t`, { perm: { ints: [0, 2, 1, 3] } });
    o = op('Reshape', [o, mergeShape], `${p}.attn.merged`);
    o = linear(o, `${p}.attn.proj`, dim, dim);
    x = op('Add', [x, o], `${p}.res1`);
    const h2 = ln(x, `${p}.norm2`);
    const f1 = linear(h2, `${p}.mlp.fc1`, dim, mlp);
    // Exact GELU: 0.5 x (1 + erf(x / sqrt 2)), as nn.GELU() computes it.
    const erf = op('Erf', [op('Mul', [f1, invSqrt2], `${p}.gelu.s`)], `${p}.gelu.erf`);
    const g = op('Mul', [op('Mul', [f1, op('Add', [erf, one], `${p}.gelu.p1`)], `${p}.gelu.xp`), half], `${p}.gelu.out`);
    const f2 = linear(g, `${p}.mlp.fc2`, mlp, dim);
    x = op('Add', [x, f2], `${p}.res2`);
  }
  x = ln(x, 'norm');
  op('Gather', [x, ci('idx.cls', [0], [])], 'pooler_output', { axis: { i: 1 } });
  return encodeModel({
    inputs: [{ name: 'pixel_values', type: floatType, shape: ['batch', 3, imageSize, imageSize] }],
    outputs: [{ name: 'pooler_output', type: floatType, shape: ['batch', dim] }],
    nodes,
    initializers: inits,
    opset: 17,
    graphName: 'random_vit_s14',
  });
}

/** Returns the path of the cached random ViT-S/14 in modelsDir, building it (about 87 MB) on first use. */
export function ensureRandomVit(modelsDir: string, seed: number = RANDOM_VIT_S14.seed): string {
  const file = path.join(modelsDir, randomVitFileName(seed));
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(modelsDir, { recursive: true });
  // Write to a temp name and rename, so a crash never leaves a half-written model in the cache.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, buildRandomVitS14(seed));
  fs.renameSync(tmp, file);
  return file;
}
