import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { BackboneRow } from '../backbones/queries';
import { ensureRandomVit } from '../backbones/random-vit';
import { LabError } from '../errors';
import { hasGpuDevice } from '../info';
import type { RGBImage } from '../images/decode';
import { type Preset, preprocessTo } from '../images/preprocess';
import { resize32 } from '../images/resize';
import { buildFusedModel, FUSED_INPUT, FUSED_OUTPUT } from './fused-model';
import type { SessionConfig } from './inference-messages';
import { InferenceThread } from './inference-thread';

/** Execution providers a user can ask for; `auto` tries cuda, then webgpu, then cpu. */
export type ProviderChoice = 'auto' | 'cpu' | 'webgpu' | 'cuda';

/** Where images are resized and normalised: inside the model graph on its device, or in JS before it. */
export type PreprocessingMode = 'graph' | 'js';

/** Options for createEmbedder. */
export interface EmbedderOptions {
  provider: ProviderChoice;
  /** Where built-in models (random-vit-s14) are cached. */
  modelsDir: string;
  /**
   * Preprocess inside the model graph, for images that all have this size and this preset: the batch then
   * holds the images' uint8 pixels as they are stored. Falls back to JS, with a notice, for a model that
   * cannot be fused. Absent: preprocessing in JS.
   */
  graphPreprocess?: { preset: Preset; width: number; height: number };
}

/** A ready backbone: turns preprocessed batches into [n, dim] float32 vectors. */
export interface Embedder {
  /** The provider actually in use ('cpu', 'webgpu', 'cuda', or 'js' for raw pixels). */
  provider: string;
  /**
   * One line per provider that failed to start before this one, e.g. "cuda: not installed (npm run
   * setup:cuda)", and why preprocessing runs in JS when the graph was asked for.
   */
  notices: string[];
  dim: number;
  /** Where preprocessing happens for this embedder. */
  preprocessing: PreprocessingMode;
  /** Side of the square model input in pixels (32 for raw pixels). */
  inputSize: number;
  /** Elements per image in the batch embed() takes (floats, or uint8 pixels with graph preprocessing). */
  inputLength: number;
  /** A batch buffer for n images (Float32Array, or Uint8Array with graph preprocessing). */
  allocate(n: number): Float32Array | Uint8Array;
  /** Writes one image's model input at `offset` of `out` (the preset's tensor, raw pixels, or the stored pixels). */
  prepare(img: RGBImage, preset: Preset, out: Float32Array | Uint8Array, offset: number): void;
  /**
   * Embeds n images laid out back to back in `batch` (n * inputLength elements). The batch's buffer is
   * handed to the inference thread: do not reuse it after the call.
   */
  embed(batch: Float32Array | Uint8Array, n: number): Promise<Float32Array>;
  close(): Promise<void>;
}

const ORDER: ('cuda' | 'webgpu' | 'cpu')[] = ['cuda', 'webgpu', 'cpu'];

/**
 * False when onnxruntime-node's native folder exists but holds no CUDA provider library: the default
 * install ships without it (`npm run setup:cuda` adds it), and probing would only print native errors.
 */
function cudaLibraryPresent(ortEntry: string): boolean {
  const bin = path.join(path.dirname(ortEntry), '..', 'bin', 'napi-v6', process.platform, process.arch);
  if (!fs.existsSync(bin)) return true;
  const lib = process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so';
  return fs.existsSync(path.join(bin, lib));
}

/** A human-readable reason a provider failed to start. */
function providerNotice(provider: string, error: string): string {
  const first = error.split('\n')[0]!.slice(0, 200);
  if (provider === 'cuda') {
    if (/providers_cuda|shared (object|library)|not (found|supported|available|enabled)|unsupported|no such file/i.test(error)) {
      return 'cuda: not installed (npm run setup:cuda; needs CUDA 12 and cuDNN 9)';
    }
    return `cuda: failed to start (${first})`;
  }
  if (provider === 'webgpu') {
    if (/adapter|vulkan/i.test(error)) return 'webgpu: no GPU adapter found (needs a GPU with a Vulkan, Metal or Direct3D 12 driver)';
    return `webgpu: failed to start (${first})`;
  }
  return `${provider}: failed to start (${first})`;
}

function rawPixelsEmbedder(): Embedder {
  const len = 32 * 32 * 3;
  return {
    provider: 'js',
    notices: [],
    dim: len,
    preprocessing: 'js',
    inputSize: 32,
    inputLength: len,
    allocate: (n) => new Float32Array(n * len),
    prepare(img, _preset, out, offset) {
      // The preset does not apply: raw pixels are the CIFAR-sized image itself, HWC in [0, 1].
      const r = img.width === 32 && img.height === 32 ? img : resize32(img);
      for (let i = 0; i < len; i++) out[offset + i] = r.data[i]! / 255;
    },
    async embed(batch, n) {
      return Float32Array.from(batch.subarray(0, n * len));
    },
    async close() {},
  };
}

/** The model file of an ONNX backbone (random-vit is built into modelsDir on first use). */
export function modelPathOf(backbone: BackboneRow, modelsDir: string): string {
  if (backbone.kind === 'random-vit') return ensureRandomVit(modelsDir);
  if (!backbone.file || !fs.existsSync(backbone.file)) {
    throw new LabError('not_found', `The model file of backbone "${backbone.name}" (${backbone.file ?? 'none'}) is missing: add the file again.`);
  }
  return backbone.file;
}

/** The session configurations to try: the backbone as it is, and the fused model when one was built. */
interface Plan {
  plain: Omit<SessionConfig, 'provider'>;
  fused: Omit<SessionConfig, 'provider'> | null;
  /** The fused model's bytes; null when none was asked for or it could not be built. */
  fusedBytes: Uint8Array | null;
  notices: string[];
}

function planSessions(backbone: BackboneRow, modelPath: string, gp: EmbedderOptions['graphPreprocess']): Plan {
  const size = backbone.imageSize;
  const base = {
    inputName: backbone.inputName ?? 'pixel_values',
    outputName: backbone.outputName ?? 'pooler_output',
    outputKind: backbone.outputKind ?? 'pooler',
  } as const;
  const notices: string[] = [];
  let fusedBytes: Uint8Array | null = null;
  if (gp) {
    const r = buildFusedModel(new Uint8Array(fs.readFileSync(modelPath)), {
      ...base,
      inputType: backbone.precision,
      dim: backbone.dim,
      imageSize: size,
      preprocess: gp,
    });
    if (r.ok) fusedBytes = r.bytes;
    else notices.push(`preprocessing in JS: ${r.reason}`);
  }
  const plain = { modelPath, ...base, inputType: backbone.precision, itemDims: [3, size, size], dim: backbone.dim };
  const fused: Plan['fused'] = gp
    ? { modelPath: null, inputName: FUSED_INPUT, inputType: 'uint8', itemDims: [gp.height, gp.width, 3], outputName: FUSED_OUTPUT, outputKind: 'pooler', dim: backbone.dim }
    : null;
  return { plain, fused, fusedBytes, notices };
}

/**
 * Opens a session on the first provider of `candidates` that accepts the model, the fused one first when
 * there is one. Returns the provider and whether the fused model runs; notices get a line per refusal.
 */
async function openSession(
  thread: InferenceThread,
  plan: Plan,
  candidates: ('cuda' | 'webgpu' | 'cpu')[],
  asked: ProviderChoice,
  ortPath: string,
): Promise<{ provider: string; fused: boolean } | null> {
  const { notices } = plan;
  const fused = plan.fusedBytes !== null;
  let bytes: Uint8Array | undefined = plan.fusedBytes ?? undefined;
  for (const p of candidates) {
    if (p === 'cuda' && !cudaLibraryPresent(ortPath)) {
      notices.push('cuda: not installed (npm run setup:cuda; needs CUDA 12 and cuDNN 9)');
      continue;
    }
    if (p === 'webgpu' && asked === 'auto' && !hasGpuDevice()) {
      notices.push('webgpu: skipped, no GPU device found (a software Vulkan driver would be far slower than cpu; choose webgpu to use it anyway)');
      continue;
    }
    if (fused && plan.fused) {
      const r = await thread.init({ ...plan.fused, provider: p }, bytes);
      bytes = undefined;
      if (r.ok) return { provider: p, fused: true };
      // A provider may refuse the spliced graph yet run the backbone itself: keep the provider, preprocess in JS.
      const plain = await thread.init({ ...plan.plain, provider: p });
      if (plain.ok) {
        notices.push(`preprocessing in JS: ${p} could not run the model with preprocessing inside (${(r.error ?? '').split('\n')[0]!.slice(0, 200)})`);
        return { provider: p, fused: false };
      }
      notices.push(providerNotice(p, plain.error ?? r.error ?? 'unknown error'));
      continue;
    }
    const r = await thread.init({ ...plan.plain, provider: p });
    if (r.ok) return { provider: p, fused: false };
    notices.push(providerNotice(p, r.error ?? 'unknown error'));
  }
  return null;
}

/** An embedder fed the images' stored uint8 pixels, preprocessed inside the model graph. */
function graphEmbedder(thread: InferenceThread, backbone: BackboneRow, provider: string, notices: string[], gp: { width: number; height: number }): Embedder {
  const { width, height } = gp;
  const len = width * height * 3;
  return {
    provider,
    notices,
    dim: backbone.dim,
    preprocessing: 'graph',
    inputSize: backbone.imageSize,
    inputLength: len,
    allocate: (n) => new Uint8Array(n * len),
    prepare(img, _preset, out, offset) {
      if (img.width !== width || img.height !== height) {
        throw new LabError('bad_image', `The image is ${img.width}x${img.height}, but this dataset's images were ${width}x${height} when it was imported: re-import it.`);
      }
      out.set(img.data.subarray(0, len), offset);
    },
    embed(batch, n) {
      if (!(batch instanceof Uint8Array) || batch.length < n * len) throw new RangeError(`embed: expected a Uint8Array of ${n * len} pixels`);
      return thread.run(batch.length === n * len ? batch : batch.subarray(0, n * len), n);
    },
    close: () => thread.close(),
  };
}

/** An embedder fed float32 tensors preprocessed in JS with the set's preset. */
function jsEmbedder(thread: InferenceThread, backbone: BackboneRow, provider: string, notices: string[]): Embedder {
  const size = backbone.imageSize;
  const inputLength = 3 * size * size;
  return {
    provider,
    notices,
    dim: backbone.dim,
    preprocessing: 'js',
    inputSize: size,
    inputLength,
    allocate: (n) => new Float32Array(n * inputLength),
    prepare(img, preset, out, offset) {
      if (!(out instanceof Float32Array)) throw new TypeError('prepare: expected a Float32Array batch');
      preprocessTo(img, preset, size, out, offset);
    },
    embed(batch, n) {
      if (!(batch instanceof Float32Array) || batch.length < n * inputLength) {
        throw new RangeError(`embed: batch holds ${batch.length} values, ${n} images need ${n * inputLength} floats`);
      }
      return thread.run(batch.length === n * inputLength ? batch : batch.subarray(0, n * inputLength), n);
    },
    close: () => thread.close(),
  };
}

/**
 * Opens a backbone for embedding. ONNX backbones run in a worker thread on the chosen provider; `auto`
 * tries cuda, webgpu, then cpu and records a notice for each that failed. raw-pixels needs no model.
 */
export async function createEmbedder(backbone: BackboneRow, opts: EmbedderOptions): Promise<Embedder> {
  if (backbone.kind === 'raw-pixels') return rawPixelsEmbedder();
  const modelPath = modelPathOf(backbone, opts.modelsDir);
  const gp = opts.graphPreprocess;
  const plan = planSessions(backbone, modelPath, gp);
  const candidates = opts.provider === 'auto' ? ORDER : [opts.provider];
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const thread = new InferenceThread();
  const opened = await openSession(thread, plan, candidates, opts.provider, ortPath);
  if (!opened) {
    await thread.close();
    throw new LabError('job_failed', `No execution provider could run ${backbone.name}: ${plan.notices.join('; ')}`);
  }
  return opened.fused && gp
    ? graphEmbedder(thread, backbone, opened.provider, plan.notices, gp)
    : jsEmbedder(thread, backbone, opened.provider, plan.notices);
}
