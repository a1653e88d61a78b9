import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import ort from 'onnxruntime-node';
import { LabError } from '../errors';

/** What DINO Lab needs to know about an ONNX backbone, learned when the file is added. */
export interface OnnxBackboneInfo {
  inputName: string;
  inputType: 'float32' | 'float16';
  /** Side of the square input (224 when the model leaves H and W dynamic). */
  imageSize: number;
  outputName: string;
  /** pooler: a [B, D] pooler_output; cls: token 0 of last_hidden_state [B, T, D]; first: the first [B, D] output. */
  outputKind: 'pooler' | 'cls' | 'first';
  dim: number;
  sha256: string;
  sizeBytes: number;
}

type Shape = ReadonlyArray<number | string>;

function fmtShape(s: Shape): string {
  return `[${s.map((d) => (typeof d === 'number' ? String(d) : d || '?')).join(', ')}]`;
}

async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Element type names as ONNX Runtime reports them. */
function tensorMeta(m: ort.InferenceSession.ValueMetadata): { type: string; shape: Shape } | null {
  return m.isTensor ? { type: m.type, shape: m.shape } : null;
}

/** Picks the output DINO Lab uses, by the rules in DESIGN.md; null when none fits. */
function pickOutput(
  outs: { name: string; shape: Shape; type: string }[],
): { name: string; kind: 'pooler' | 'cls' | 'first'; dim: number | string } | null {
  const pooler = outs.find((o) => o.name === 'pooler_output' && o.shape.length === 2);
  if (pooler) return { name: pooler.name, kind: 'pooler', dim: pooler.shape[1]! };
  const lhs = outs.find((o) => o.name === 'last_hidden_state' && o.shape.length === 3);
  if (lhs) return { name: lhs.name, kind: 'cls', dim: lhs.shape[2]! };
  const first = outs.find((o) => o.shape.length === 2);
  if (first) return { name: first.name, kind: 'first', dim: first.shape[1]! };
  return null;
}

function f32ToF16Bits(v: number): number {
  // Only used for the dummy run: a zero-ish image, so plain truncation is enough here.
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 127 + 15;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  return sign | (exp << 10) | ((x >>> 13) & 0x3ff);
}

/** The input a backbone is fed: its name, element type and the side of the square image. */
interface InputInfo {
  name: string;
  type: 'float32' | 'float16';
  imageSize: number;
}

/** Checks the model's image input: rank 4, 3 channels, float32 or float16, square, dynamic batch. */
function checkInput(session: ort.InferenceSession): InputInfo {
  const inputs = session.inputMetadata.map((m) => ({ name: m.name, meta: tensorMeta(m) }));
  const input = inputs.find((i) => i.name === 'pixel_values') ?? inputs[0];
  if (!input) throw new LabError('bad_model', 'The model has no inputs; expected pixel_values [batch, 3, H, W].');
  if (!input.meta) throw new LabError('bad_model', `Input ${input.name} is not a tensor; expected pixel_values [batch, 3, H, W].`);
  const ishape = input.meta.shape;
  if (ishape.length !== 4) {
    throw new LabError('bad_model', `Input ${input.name} has rank ${ishape.length} ${fmtShape(ishape)}; expected rank 4 [batch, 3, H, W].`);
  }
  if (ishape[1] !== 3) {
    throw new LabError('bad_model', `Input ${input.name} ${fmtShape(ishape)} has ${String(ishape[1])} channels; expected 3 (RGB) in [batch, 3, H, W].`);
  }
  const itype = input.meta.type;
  if (itype !== 'float32' && itype !== 'float16') {
    throw new LabError('bad_model', `Input ${input.name} is ${itype}; expected float32 or float16.`);
  }
  const h = ishape[2];
  const w = ishape[3];
  if (typeof h === 'number' && typeof w === 'number' && h !== w) {
    throw new LabError('bad_model', `Input ${input.name} ${fmtShape(ishape)} is not square; expected [batch, 3, S, S].`);
  }
  const imageSize = typeof h === 'number' ? h : typeof w === 'number' ? w : 224;
  if (typeof ishape[0] === 'number' && ishape[0] !== 1 && ishape[0] !== -1) {
    // A fixed batch other than 1 cannot be fed variable batches: say so now rather than at embedding time.
    throw new LabError('bad_model', `Input ${input.name} has a fixed batch of ${ishape[0]}; expected a dynamic batch dimension.`);
  }
  return { name: input.name, type: itype, imageSize };
}

/** Runs the model on one flat image of 0.1s. */
async function dummyRun(session: ort.InferenceSession, input: InputInfo): Promise<ort.InferenceSession.ReturnType> {
  const { name, type, imageSize } = input;
  const dummy = 3 * imageSize * imageSize;
  const feedData = type === 'float32' ? new Float32Array(dummy).fill(0.1) : new Uint16Array(dummy).fill(f32ToF16Bits(0.1));
  const feeds = { [name]: new ort.Tensor(type, feedData, [1, 3, imageSize, imageSize]) };
  try {
    return await session.run(feeds);
  } catch (err) {
    const msg = (err as Error).message.split('\n')[0]!.slice(0, 300);
    throw new LabError('bad_model', `A test run on one ${imageSize}x${imageSize} image failed (${msg}); expected input ${name} [batch, 3, ${imageSize}, ${imageSize}].`);
  }
}

/**
 * Picks the output by the declared shapes, or by those of the dummy run when the exporter left them
 * unknown, and checks its values for one image: [1, D], float32 or float16, all finite.
 */
function checkOutput(session: ort.InferenceSession, result: ort.InferenceSession.ReturnType): { name: string; kind: 'pooler' | 'cls' | 'first'; dim: number } {
  const outs = session.outputMetadata.flatMap((m) => {
    const t = tensorMeta(m);
    return t ? [{ name: m.name, shape: t.shape, type: t.type }] : [];
  });
  let picked = pickOutput(outs);
  const actual = Object.entries(result).map(([name, t]) => ({ name, shape: t.dims as Shape, type: t.type }));
  const fromRun = pickOutput(actual);
  if (!picked || typeof picked.dim !== 'number') picked = fromRun;
  if (!picked || !fromRun) {
    const found = actual.map((o) => `${o.name} ${fmtShape(o.shape)}`).join(', ') || 'none';
    throw new LabError('bad_model', `No usable output: expected pooler_output [batch, D], last_hidden_state [batch, tokens, D] or a [batch, D] output; found ${found}.`);
  }
  const out = result[picked.name]!;
  if (out.type !== 'float32' && out.type !== 'float16') {
    throw new LabError('bad_model', `Output ${picked.name} is ${out.type}; expected float32 or float16.`);
  }
  const dim = Number(out.dims[out.dims.length - 1]);
  if (out.dims[0] !== 1 || !(dim > 0)) {
    throw new LabError('bad_model', `Output ${picked.name} has shape ${fmtShape(out.dims)} for 1 image; expected [1, D].`);
  }
  const values = out.data as Float32Array | Uint16Array;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const bad = out.type === 'float32' ? !Number.isFinite(v) : (v & 0x7c00) === 0x7c00;
    if (bad) throw new LabError('bad_model', `A test run gave a non-finite value (NaN or Inf) in ${picked.name}: the model's weights or graph are broken.`);
  }
  return { name: picked.name, kind: picked.kind, dim };
}

/**
 * Opens an ONNX file on the CPU and checks it is a usable image backbone: input `pixel_values` (else the
 * first input) of rank 4 with 3 channels, float32 or float16; output `pooler_output [B, D]`, else
 * `last_hidden_state [B, T, D]`, else the first [B, D] output. A 1-image dummy run confirms the shapes
 * and that the output is finite. Anything else is refused with LabError('bad_model').
 */
export async function inspectOnnx(file: string): Promise<OnnxBackboneInfo> {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new LabError('not_found', `The model file ${file} does not exist.`);
  }
  if (!stat.isFile()) throw new LabError('bad_model', `${file} is not a file.`);
  const base = path.basename(file);
  if (stat.size === 0) throw new LabError('bad_model', `${base} is empty (0 bytes): it is not an ONNX model.`, { file });
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { executionProviders: ['cpu'], graphOptimizationLevel: 'all' });
  } catch (err) {
    // onnxruntime's own words (C++ source paths and all) go in the details, not in the sentence a person reads.
    const detail = (err as Error).message.slice(0, 2000);
    throw new LabError('bad_model', `${base} is not an ONNX model DINO Lab can load (damaged, or another kind of file). Expected an ONNX image backbone such as DINOv2's model.onnx.`, { file, detail });
  }
  try {
    const input = checkInput(session);
    // Exporters sometimes leave output shapes unknown: one dummy image shows them.
    const output = checkOutput(session, await dummyRun(session, input));
    return {
      inputName: input.name,
      inputType: input.type,
      imageSize: input.imageSize,
      outputName: output.name,
      outputKind: output.kind,
      dim: output.dim,
      sha256: await sha256File(file),
      sizeBytes: stat.size,
    };
  } finally {
    await session.release();
  }
}
