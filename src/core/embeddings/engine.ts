import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { BackboneRow } from '../backbones/registry';
import { ensureRandomVit } from '../backbones/random-vit';
import { LabError } from '../errors';
import { hasGpuDevice } from '../info';
import type { RGBImage } from '../images/decode';
import { type Preset, preprocessTo } from '../images/preprocess';
import { resize32 } from '../images/resize';
import { buildFusedModel, FUSED_INPUT, FUSED_OUTPUT } from './fused-model';
import { INFERENCE_WORKER_SRC } from './inference-worker';

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

interface Pending {
  resolve: (v: Float32Array) => void;
  reject: (e: Error) => void;
}

/** A worker thread holding one InferenceSession. */
class InferenceThread {
  private worker: Worker;
  private pending = new Map<number, Pending>();
  private nextId = 1;
  private waiter: ((m: { type: string; ok?: boolean; error?: string }) => void) | null = null;
  private dead: Error | null = null;

  constructor(ortPath: string) {
    this.worker = new Worker(INFERENCE_WORKER_SRC, { eval: true, workerData: { ortPath } });
    this.worker.on('message', (m: { type: string; id?: number; out?: Float32Array; error?: string; ok?: boolean }) => {
      if (m.type === 'run') {
        const p = this.pending.get(m.id!);
        this.pending.delete(m.id!);
        if (!p) return;
        if (m.error !== undefined) p.reject(new LabError('job_failed', `Inference failed: ${m.error}`));
        else p.resolve(m.out!);
      } else {
        const w = this.waiter;
        this.waiter = null;
        w?.(m);
      }
    });
    const fail = (err: Error): void => {
      this.dead = err;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      const w = this.waiter;
      this.waiter = null;
      w?.({ type: 'error', ok: false, error: err.message });
    };
    this.worker.on('error', (e) => fail(new LabError('job_failed', `The inference thread crashed: ${e.message}`)));
    this.worker.on('exit', (code) => fail(new LabError('job_failed', `The inference thread exited (code ${code}).`)));
  }

  private request(msg: object, transfer: ArrayBuffer[] = []): Promise<{ type: string; ok?: boolean; error?: string }> {
    return new Promise((resolve) => {
      if (this.dead) return resolve({ type: 'error', ok: false, error: this.dead.message });
      this.waiter = resolve;
      this.worker.postMessage(msg, transfer);
    });
  }

  /** Opens the session; model bytes are transferred to the thread once, and it keeps them for later tries. */
  init(cfg: Record<string, unknown>, modelBytes?: Uint8Array): Promise<{ ok?: boolean; error?: string }> {
    if (!modelBytes) return this.request({ type: 'init', ...cfg });
    return this.request({ type: 'init', ...cfg, modelBytes }, [modelBytes.buffer as ArrayBuffer]);
  }

  run(data: Float32Array | Uint8Array, n: number): Promise<Float32Array> {
    if (this.dead) return Promise.reject(this.dead);
    const id = this.nextId++;
    // Transfer when the array owns its whole buffer; otherwise copy the part that matters.
    const owned = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer;
    const payload = owned ? data : data.slice();
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'run', id, data: payload, n }, [payload.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (!this.dead) await this.request({ type: 'close' });
    this.dead ??= new LabError('job_failed', 'The embedder is closed.');
    await this.worker.terminate();
  }
}

/**
 * Opens a backbone for embedding. ONNX backbones run in a worker thread on the chosen provider; `auto`
 * tries cuda, webgpu, then cpu and records a notice for each that failed. raw-pixels needs no model.
 */
export async function createEmbedder(backbone: BackboneRow, opts: EmbedderOptions): Promise<Embedder> {
  if (backbone.kind === 'raw-pixels') return rawPixelsEmbedder();
  let modelPath: string;
  if (backbone.kind === 'random-vit') {
    modelPath = ensureRandomVit(opts.modelsDir);
  } else {
    if (!backbone.file || !fs.existsSync(backbone.file)) {
      throw new LabError('not_found', `The model file of backbone "${backbone.name}" (${backbone.file ?? 'none'}) is missing: add the file again.`);
    }
    modelPath = backbone.file;
  }
  const size = backbone.imageSize;
  const base = {
    inputName: backbone.inputName ?? 'pixel_values',
    outputName: backbone.outputName ?? 'pooler_output',
    outputKind: backbone.outputKind ?? 'pooler',
  } as const;
  const notices: string[] = [];
  let fused: Uint8Array | null = null;
  const gp = opts.graphPreprocess;
  if (gp) {
    const r = buildFusedModel(new Uint8Array(fs.readFileSync(modelPath)), {
      ...base,
      inputType: backbone.precision,
      dim: backbone.dim,
      imageSize: size,
      preprocess: gp,
    });
    if (r.ok) fused = r.bytes;
    else notices.push(`preprocessing in JS: ${r.reason}`);
  }
  const plainCfg = { modelPath, ...base, inputType: backbone.precision, itemDims: [3, size, size], dim: backbone.dim };
  const fusedCfg = gp
    ? { modelPath: null, inputName: FUSED_INPUT, inputType: 'uint8', itemDims: [gp.height, gp.width, 3], outputName: FUSED_OUTPUT, outputKind: 'pooler', dim: backbone.dim }
    : null;
  const candidates = opts.provider === 'auto' ? ORDER : [opts.provider];
  const ortPath = createRequire(import.meta.url).resolve('onnxruntime-node');
  const thread = new InferenceThread(ortPath);
  let provider: string | null = null;
  let bytes: Uint8Array | undefined = fused ?? undefined;
  for (const p of candidates) {
    if (p === 'cuda' && !cudaLibraryPresent(ortPath)) {
      notices.push('cuda: not installed (npm run setup:cuda; needs CUDA 12 and cuDNN 9)');
      continue;
    }
    if (p === 'webgpu' && opts.provider === 'auto' && !hasGpuDevice()) {
      notices.push('webgpu: skipped, no GPU device found (a software Vulkan driver would be far slower than cpu; choose webgpu to use it anyway)');
      continue;
    }
    if (fused && fusedCfg) {
      const r = await thread.init({ ...fusedCfg, provider: p }, bytes);
      bytes = undefined;
      if (r.ok) {
        provider = p;
        break;
      }
      // A provider may refuse the spliced graph yet run the backbone itself: keep the provider, preprocess in JS.
      const plain = await thread.init({ ...plainCfg, provider: p });
      if (plain.ok) {
        provider = p;
        fused = null;
        notices.push(`preprocessing in JS: ${p} could not run the model with preprocessing inside (${(r.error ?? '').split('\n')[0]!.slice(0, 200)})`);
        break;
      }
      notices.push(providerNotice(p, plain.error ?? r.error ?? 'unknown error'));
      continue;
    }
    const r = await thread.init({ ...plainCfg, provider: p });
    if (r.ok) {
      provider = p;
      break;
    }
    notices.push(providerNotice(p, r.error ?? 'unknown error'));
  }
  if (!provider) {
    await thread.close();
    throw new LabError('job_failed', `No execution provider could run ${backbone.name}: ${notices.join('; ')}`);
  }
  if (fused) {
    const { width, height } = gp!;
    const len = width * height * 3;
    return {
      provider,
      notices,
      dim: backbone.dim,
      preprocessing: 'graph',
      inputSize: size,
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
