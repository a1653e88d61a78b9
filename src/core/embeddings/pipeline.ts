import type { Db } from '../db/database';
import { type BackboneRow, getBackbone } from '../backbones/queries';
import { countSamples, datasetExists } from '../datasets/queries';
import { LabError, toLabError } from '../errors';
import type { RGBImage } from '../images/decode';
import type { Preset } from '../images/preprocess';
import { BatchSizer } from './batch-sizer';
import { createEmbedder, type Embedder, type PreprocessingMode, type ProviderChoice } from './engine';
import {
  countVectors,
  endSetRun,
  ensureSet,
  getSetRow,
  imageSizes,
  markSetRunning,
  pendingSampleIds,
  recordSetEngine,
  recordSetThroughput,
  type SetRow,
  stopSet,
  vectorWriter,
} from './queries';

/** Progress of an embedding job; `done`/`total` count vectors of the whole set. */
export interface EmbedProgress {
  phase: string;
  done: number;
  total: number;
  ratePerSec: number;
  etaSec: number;
}

/** Options for runEmbeddingSet. */
export interface RunEmbeddingOptions {
  signal?: AbortSignal;
  onProgress?: (p: EmbedProgress) => void;
  /** Fixed batch size; when absent a few sizes are timed on the first batches and the fastest kept. */
  batchSize?: number;
  provider?: string;
  /**
   * Where to preprocess: 'graph' (inside the model, fed the stored uint8 pixels; needs images of one
   * size), 'js', or 'auto' (default): the graph when the dataset's images share one size, else JS.
   * A set that already has vectors keeps the mode it started with, so all its vectors match.
   */
  preprocessing?: 'auto' | PreprocessingMode;
  modelsDir: string;
  /** Loads one sample's image (the dataset module's loader in the app; tests bring their own). */
  loadImage: (sampleId: number) => Promise<RGBImage>;
}

/** What a run of the job achieved. */
export type EmbeddingSetSummary = {
  setId: number;
  status: 'done' | 'partial' | 'failed';
  /** Vectors stored for the set (all runs together) and samples in the dataset. */
  done: number;
  total: number;
  /** Vectors computed by this run. */
  computed: number;
  provider: string;
  batchSize: number;
  imagesPerSec: number;
  seconds: number;
  notices: string[];
  /** Where preprocessing ran ('' when nothing was left to embed). */
  preprocessing: PreprocessingMode | '';
};

/**
 * Creates the embedding set for (dataset, backbone, preset), or returns the id of the existing one, so
 * that starting the same job again resumes it instead of starting over.
 */
export function createEmbeddingSet(db: Db, p: { datasetId: number; backboneId: number; preset: Preset }): number {
  if (!datasetExists(db, p.datasetId)) throw new LabError('not_found', `Dataset ${p.datasetId} does not exist.`);
  const backbone = getBackbone(db, p.backboneId);
  return ensureSet(db, { datasetId: p.datasetId, backboneId: p.backboneId, preset: p.preset, dim: backbone.dim });
}

/** Image size and preset of in-graph preprocessing. */
type GraphPreprocess = { preset: Preset; width: number; height: number };

/**
 * The image size and preset for in-graph preprocessing, or null for JS. 'auto' picks the graph when every
 * image of the dataset has one size (CIFAR: 32x32) and the backbone is an ONNX model; a set that already
 * holds vectors keeps the mode it was started with.
 */
function chooseGraphPreprocessing(db: Db, set: SetRow, kind: string, asked: 'auto' | PreprocessingMode, stored: number): GraphPreprocess | null {
  if (kind === 'raw-pixels') {
    if (asked === 'graph') throw new LabError('invalid_input', 'The raw-pixels baseline has no model graph to preprocess in: use auto or js.');
    return null;
  }
  // Sets embedded before preprocessing was recorded (NULL) were all preprocessed in JS.
  const kept = set.preprocessing === 'graph' ? 'graph' : 'js';
  const mode = asked === 'auto' && stored > 0 ? kept : asked;
  if (mode === 'js') return null;
  const sizes = imageSizes(db, set.dataset_id, 3);
  const one = sizes.length === 1 && sizes[0]!.width > 0 && sizes[0]!.height > 0 ? sizes[0]! : null;
  if (!one) {
    if (mode === 'graph') {
      throw new LabError('invalid_input', 'Preprocessing in the model graph needs images of one size, and this dataset has images of several sizes: use auto or js.');
    }
    return null;
  }
  return { preset: set.preset as Preset, width: one.width, height: one.height };
}

const PROVIDERS: readonly string[] = ['auto', 'cpu', 'webgpu', 'cuda'] satisfies ProviderChoice[];
const isProviderChoice = (p: string): p is ProviderChoice => PROVIDERS.includes(p);

/** One run of a set: what it embeds, and the counts and clock that its progress and summary report. */
interface EmbeddingRun {
  setId: number;
  set: SetRow;
  backbone: BackboneRow;
  preset: Preset;
  provider: ProviderChoice;
  total: number;
  /** Samples without a vector when the run started, ascending. */
  pending: number[];
  graphPreprocess: GraphPreprocess | null;
  started: number;
  /** Seconds spent by earlier runs of the set. */
  priorSeconds: number;
  /** Vectors of the set stored so far, and those this run computed. */
  done: number;
  computed: number;
  opts: RunEmbeddingOptions;
}

/** Reads the set, its backbone and the samples left, and decides where preprocessing runs. */
function openRun(db: Db, setId: number, opts: RunEmbeddingOptions): EmbeddingRun {
  const set = getSetRow(db, setId);
  if (!set) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  const backbone = getBackbone(db, set.backbone_id);
  const total = countSamples(db, set.dataset_id);
  const pending = pendingSampleIds(db, set.dataset_id, setId);
  // The options carry the provider as text (jobs pass on what the contract validated): narrow it here.
  const provider = opts.provider ?? 'auto';
  if (!isProviderChoice(provider)) throw new LabError('invalid_input', `Unknown execution provider "${provider}": use auto, cpu, webgpu or cuda.`);
  const graphPreprocess = chooseGraphPreprocessing(db, set, backbone.kind, opts.preprocessing ?? 'auto', total - pending.length);
  return {
    setId,
    set,
    backbone,
    preset: set.preset as Preset,
    provider,
    total,
    pending,
    graphPreprocess,
    started: performance.now(),
    priorSeconds: set.seconds ?? 0,
    done: total - pending.length,
    computed: 0,
    opts,
  };
}

function emit(run: EmbeddingRun, phase: string): void {
  const el = (performance.now() - run.started) / 1000;
  const rate = el > 0 ? run.computed / el : 0;
  run.opts.onProgress?.({ phase, done: run.done, total: run.total, ratePerSec: rate, etaSec: rate > 0 ? (run.total - run.done) / rate : 0 });
}

function summarize(run: EmbeddingRun, status: EmbeddingSetSummary['status'], emb: Embedder | null, batchSize: number): EmbeddingSetSummary {
  const seconds = (performance.now() - run.started) / 1000;
  return {
    setId: run.setId,
    status,
    done: run.done,
    total: run.total,
    computed: run.computed,
    provider: emb?.provider ?? '',
    batchSize,
    imagesPerSec: seconds > 0 ? run.computed / seconds : 0,
    seconds: run.priorSeconds + seconds,
    notices: emb?.notices ?? [],
    preprocessing: emb?.preprocessing ?? '',
  };
}

/** Opens the backbone when there is something left to embed. */
async function openEmbedder(run: EmbeddingRun): Promise<Embedder | null> {
  if (run.pending.length === 0) return null;
  return createEmbedder(run.backbone, { provider: run.provider, modelsDir: run.opts.modelsDir, graphPreprocess: run.graphPreprocess ?? undefined });
}

/** Records how the embedder runs and sizes batches for its provider; its dims must be the set's. */
function adoptEmbedder(db: Db, run: EmbeddingRun, emb: Embedder, sizer: BatchSizer): void {
  sizer.useProvider(emb.provider);
  recordSetEngine(db, run.setId, { provider: emb.provider, preprocessing: emb.preprocessing, notice: emb.notices.length ? emb.notices.join('\n') : null });
  if (emb.dim !== run.set.dim) throw new LabError('bad_model', `The backbone gives ${emb.dim} dims but the set expects ${run.set.dim}.`);
}

/** Loads the images of `ids` and writes their model inputs into one batch; a failed load names its sample. */
async function loadBatch(emb: Embedder, ids: number[], run: EmbeddingRun): Promise<{ ids: number[]; buf: Float32Array | Uint8Array }> {
  const len = emb.inputLength;
  const buf = emb.allocate(ids.length);
  await Promise.all(
    ids.map(async (id, i) => {
      let img: RGBImage;
      try {
        img = await run.opts.loadImage(id);
      } catch (err) {
        const e = toLabError(err);
        throw new LabError(e.code === 'internal' ? 'bad_image' : e.code, `Sample ${id}: ${e.message}`);
      }
      emb.prepare(img, run.preset, buf, i * len);
    }),
  );
  return { ids, buf };
}

/** Hands out the pending samples batch by batch, in the sizes the sizer picks. */
class BatchQueue {
  private cursor = 0;
  private trialIndex = 0;
  constructor(
    private pending: number[],
    private sizer: BatchSizer,
  ) {}
  take(): { ids: number[]; size: number; trial: number } | null {
    if (this.cursor >= this.pending.length) return null;
    const size = this.sizer.next();
    const ids = this.pending.slice(this.cursor, this.cursor + size);
    this.cursor += ids.length;
    return { ids, size, trial: this.trialIndex++ };
  }
}

/** Fails on the first NaN or Inf of a batch's vectors, naming its sample. */
function checkFinite(vecs: Float32Array, ids: number[], dim: number): void {
  for (let i = 0; i < vecs.length; i++) {
    if (!Number.isFinite(vecs[i]!)) {
      throw new LabError('job_failed', `The model produced NaN or Inf for sample ${ids[Math.floor(i / dim)]}: the backbone (or its precision on this provider) is not usable; try another provider or the float32 model.`);
    }
  }
}

/**
 * Embeds the pending samples batch by batch, preparing batch k+1 on this thread while the inference
 * worker runs batch k, and commits each batch in one transaction. Stops between batches on cancel.
 */
async function embedBatches(run: EmbeddingRun, emb: Embedder, sizer: BatchSizer, commit: ReturnType<typeof vectorWriter>): Promise<void> {
  const signal = run.opts.signal;
  const queue = new BatchQueue(run.pending, sizer);
  let nextSpec = queue.take();
  let nextPrep = nextSpec ? loadBatch(emb, nextSpec.ids, run) : null;
  while (nextPrep && nextSpec) {
    const spec = nextSpec;
    const batch = await nextPrep;
    const t0 = performance.now();
    const inference = emb.embed(batch.buf, batch.ids.length);
    // Decode and preprocess the next batch on this thread while the worker runs this one.
    nextSpec = signal?.aborted ? null : queue.take();
    nextPrep = nextSpec ? loadBatch(emb, nextSpec.ids, run) : null;
    nextPrep?.catch(() => undefined);
    const vecs = await inference;
    sizer.record(spec.size, batch.ids.length, performance.now() - t0, spec.trial);
    checkFinite(vecs, batch.ids, emb.dim);
    commit(batch.ids, vecs, emb.dim);
    run.computed += batch.ids.length;
    run.done += batch.ids.length;
    emit(run, 'embedding');
    // Let timers and the IPC channel run between batches: when loading images is slower than inference
    // the loop never waits on the worker, and a cancel (or the host's disappearance) would go unseen.
    await new Promise<void>((r) => setImmediate(r));
    if (signal?.aborted) break;
  }
}

/** Records the end of a run that was not interrupted by an error; a cancel between batches throws 'cancelled'. */
function finishRun(db: Db, run: EmbeddingRun, emb: Embedder | null, sizer: BatchSizer): EmbeddingSetSummary {
  const status = run.opts.signal?.aborted && run.done < run.total ? 'partial' : 'done';
  const s = summarize(run, status, emb, sizer.chosen);
  if (emb) recordSetThroughput(db, run.setId, s.batchSize, s.imagesPerSec);
  endSetRun(db, run.setId, status, s.seconds);
  if (status === 'partial') {
    throw new LabError('cancelled', `Cancelled with ${s.done} of ${s.total} vectors stored: run the set again to resume.`, { setId: run.setId, done: s.done, total: s.total });
  }
  s.done = countVectors(db, run.setId);
  return s;
}

/** Records how a run stopped on an error and returns the error to throw. */
function recordStop(db: Db, run: EmbeddingRun, err: unknown): LabError {
  const e = toLabError(err);
  const seconds = run.priorSeconds + (performance.now() - run.started) / 1000;
  if (e.code === 'cancelled') stopSet(db, run.setId, 'partial', seconds);
  // Whole batches are committed: after a full disk the set resumes once there is room again.
  else if (e.code === 'disk_full') stopSet(db, run.setId, 'partial', seconds, e.message);
  else stopSet(db, run.setId, 'failed', seconds, e.message);
  return e;
}

/**
 * Runs (or resumes) an embedding set: embeds every sample of the dataset that has no vector in the set
 * yet, batch by batch, preparing batch k+1 while batch k is being inferred, committing one transaction
 * per batch. Cancel leaves status 'partial' and throws LabError('cancelled'); a crash at any point leaves
 * only whole batches behind, and the next run picks up the rest.
 */
export async function runEmbeddingSet(db: Db, setId: number, opts: RunEmbeddingOptions): Promise<EmbeddingSetSummary> {
  const run = openRun(db, setId, opts);
  markSetRunning(db, setId);
  let embedder: Embedder | null = null;
  const sizer = new BatchSizer(opts.batchSize ?? (run.backbone.kind === 'raw-pixels' ? 256 : undefined));
  try {
    if (opts.signal?.aborted) throw new LabError('cancelled', 'Cancelled.');
    emit(run, 'loading model');
    embedder = await openEmbedder(run);
    if (embedder) adoptEmbedder(db, run, embedder, sizer);
    const commit = vectorWriter(db, setId);
    emit(run, 'embedding');
    if (embedder) await embedBatches(run, embedder, sizer, commit);
    return finishRun(db, run, embedder, sizer);
  } catch (err) {
    throw recordStop(db, run, err);
  } finally {
    await embedder?.close();
  }
}
