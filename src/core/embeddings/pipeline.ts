import type { Db } from '../db/database';
import { f32ToBlob, nowIso } from '../db/database';
import { getBackbone } from '../backbones/registry';
import { LabError, toLabError } from '../errors';
import type { RGBImage } from '../images/decode';
import { PRESETS, type Preset } from '../images/preprocess';
import { createEmbedder, type Embedder, type PreprocessingMode, type ProviderChoice } from './engine';

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
export interface EmbeddingSetSummary {
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
}

interface SetRow {
  id: number;
  dataset_id: number;
  backbone_id: number;
  preset: string;
  dim: number;
  status: string;
  seconds: number | null;
  preprocessing: string | null;
}

/**
 * Creates the embedding set for (dataset, backbone, preset), or returns the id of the existing one, so
 * that starting the same job again resumes it instead of starting over.
 */
export function createEmbeddingSet(db: Db, p: { datasetId: number; backboneId: number; preset: Preset }): number {
  if (!PRESETS.includes(p.preset)) throw new LabError('invalid_input', `Unknown preset "${p.preset}": use one of ${PRESETS.join(', ')}.`);
  if (!db.prepare('SELECT 1 FROM datasets WHERE id = ?').get(p.datasetId)) throw new LabError('not_found', `Dataset ${p.datasetId} does not exist.`);
  const backbone = getBackbone(db, p.backboneId);
  db.prepare(
    `INSERT OR IGNORE INTO embedding_sets (dataset_id, backbone_id, preset, dim, status, created_at) VALUES (?, ?, ?, ?, 'pending', ?)`,
  ).run(p.datasetId, p.backboneId, p.preset, backbone.dim, nowIso());
  const row = db
    .prepare('SELECT id FROM embedding_sets WHERE dataset_id = ? AND backbone_id = ? AND preset = ?')
    .get(p.datasetId, p.backboneId, p.preset) as { id: number };
  return row.id;
}

/**
 * Batch sizes timed on the first batches when none is given; the first size runs twice (warm-up). On a
 * CPU the smallest batches are often the fastest per image (measured here: ViT-S/14 30 images/s at batch
 * 1, 22 at 64), on a GPU the larger ones (the H200 figures in DESIGN.md peak at 64-128).
 */
const TRIAL_SIZES: Record<'cpu' | 'accelerator', number[]> = { cpu: [4, 4, 1, 2, 8, 16], accelerator: [8, 8, 16, 32, 64, 128] };

/** Hands out batch sizes: fixed, or trial sizes first and then the fastest per image. */
class BatchSizer {
  private trial = 0;
  private timings: { size: number; perImage: number }[] = [];
  private largestUsed = 0;
  private sizes = TRIAL_SIZES.accelerator;
  constructor(private fixed: number | undefined) {}
  /** Picks the trial sizes for the provider the embedder actually runs on. */
  useProvider(provider: string): void {
    this.sizes = provider === 'cpu' ? TRIAL_SIZES.cpu : TRIAL_SIZES.accelerator;
  }
  /** The size in use: fixed, the fastest timed one, or (before any full timed batch) the largest used. */
  get chosen(): number {
    if (this.fixed) return this.fixed;
    if (this.timings.length === 0) return this.largestUsed || this.sizes[0]!;
    let best = this.timings[0]!;
    for (const t of this.timings) if (t.perImage < best.perImage) best = t;
    return best.size;
  }
  next(): number {
    const size = this.fixed ?? (this.trial < this.sizes.length ? this.sizes[this.trial++]! : this.chosen);
    this.largestUsed = Math.max(this.largestUsed, size);
    return size;
  }
  record(size: number, n: number, ms: number, trialIndex: number): void {
    // Trial 0 is the warm-up (first-run allocations and kernel selection); partial batches are not comparable.
    if (this.fixed || trialIndex === 0 || trialIndex >= this.sizes.length || n < size) return;
    this.timings.push({ size, perImage: ms / n });
  }
}

/**
 * The image size and preset for in-graph preprocessing, or null for JS. 'auto' picks the graph when every
 * image of the dataset has one size (CIFAR: 32x32) and the backbone is an ONNX model; a set that already
 * holds vectors keeps the mode it was started with.
 */
function chooseGraphPreprocessing(
  db: Db,
  set: SetRow,
  kind: string,
  asked: 'auto' | PreprocessingMode,
  stored: number,
): { preset: Preset; width: number; height: number } | null {
  if (!['auto', 'graph', 'js'].includes(asked)) throw new LabError('invalid_input', `Unknown preprocessing "${asked}": use auto, graph or js.`);
  if (kind === 'raw-pixels') {
    if (asked === 'graph') throw new LabError('invalid_input', 'The raw-pixels baseline has no model graph to preprocess in: use auto or js.');
    return null;
  }
  // Sets embedded before preprocessing was recorded (NULL) were all preprocessed in JS.
  const kept = set.preprocessing === 'graph' ? 'graph' : 'js';
  const mode = asked === 'auto' && stored > 0 ? kept : asked;
  if (mode === 'js') return null;
  const sizes = db
    .prepare('SELECT width, height FROM samples WHERE dataset_id = ? GROUP BY width, height LIMIT 3')
    .all(set.dataset_id) as { width: number; height: number }[];
  const one = sizes.length === 1 && sizes[0]!.width > 0 && sizes[0]!.height > 0 ? sizes[0]! : null;
  if (!one) {
    if (mode === 'graph') {
      throw new LabError('invalid_input', 'Preprocessing in the model graph needs images of one size, and this dataset has images of several sizes: use auto or js.');
    }
    return null;
  }
  return { preset: set.preset as Preset, width: one.width, height: one.height };
}

/** Index of the first non-finite value, or -1. */
function firstNonFinite(a: Float32Array): number {
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i]!)) return i;
  return -1;
}

/**
 * Runs (or resumes) an embedding set: embeds every sample of the dataset that has no vector in the set
 * yet, batch by batch, preparing batch k+1 while batch k is being inferred, committing one transaction
 * per batch. Cancel leaves status 'partial' and throws LabError('cancelled'); a crash at any point leaves
 * only whole batches behind, and the next run picks up the rest.
 */
export async function runEmbeddingSet(db: Db, setId: number, opts: RunEmbeddingOptions): Promise<EmbeddingSetSummary> {
  const set = db.prepare('SELECT * FROM embedding_sets WHERE id = ?').get(setId) as SetRow | undefined;
  if (!set) throw new LabError('not_found', `Embedding set ${setId} does not exist.`);
  const preset = set.preset as Preset;
  const backbone = getBackbone(db, set.backbone_id);
  const total = (db.prepare('SELECT COUNT(*) AS n FROM samples WHERE dataset_id = ?').get(set.dataset_id) as { n: number }).n;
  const countDone = (): number => (db.prepare('SELECT COUNT(*) AS n FROM embeddings WHERE set_id = ?').get(setId) as { n: number }).n;
  const pending = (
    db
      .prepare(
        `SELECT s.id FROM samples s WHERE s.dataset_id = ?
         AND NOT EXISTS (SELECT 1 FROM embeddings e WHERE e.set_id = ? AND e.sample_id = s.id) ORDER BY s.id`,
      )
      .all(set.dataset_id, setId) as { id: number }[]
  ).map((r) => r.id);
  const provider = (opts.provider ?? 'auto') as ProviderChoice;
  if (!['auto', 'cpu', 'webgpu', 'cuda'].includes(provider)) {
    throw new LabError('invalid_input', `Unknown execution provider "${provider}": use auto, cpu, webgpu or cuda.`);
  }
  if (opts.batchSize !== undefined && !(Number.isInteger(opts.batchSize) && opts.batchSize >= 1 && opts.batchSize <= 4096)) {
    throw new LabError('invalid_input', `Batch size must be an integer from 1 to 4096 (got ${opts.batchSize}).`);
  }
  const graphPreprocess = chooseGraphPreprocessing(db, set, backbone.kind, opts.preprocessing ?? 'auto', total - pending.length);
  const update = (fields: Record<string, unknown>): void => {
    const keys = Object.keys(fields);
    db.prepare(`UPDATE embedding_sets SET ${keys.map((k) => `${k} = ?`).join(', ')} WHERE id = ?`).run(...keys.map((k) => fields[k]), setId);
  };
  const started = performance.now();
  const priorSeconds = set.seconds ?? 0;
  let doneCount = total - pending.length;
  let computed = 0;
  const emit = (phase: string): void => {
    const el = (performance.now() - started) / 1000;
    const rate = el > 0 ? computed / el : 0;
    opts.onProgress?.({ phase, done: doneCount, total, ratePerSec: rate, etaSec: rate > 0 ? (total - doneCount) / rate : 0 });
  };
  const summary = (status: EmbeddingSetSummary['status'], emb: Embedder | null, batchSize: number): EmbeddingSetSummary => {
    const seconds = (performance.now() - started) / 1000;
    return {
      setId,
      status,
      done: doneCount,
      total,
      computed,
      provider: emb?.provider ?? '',
      batchSize,
      imagesPerSec: seconds > 0 ? computed / seconds : 0,
      seconds: priorSeconds + seconds,
      notices: emb?.notices ?? [],
      preprocessing: emb?.preprocessing ?? '',
    };
  };

  update({ status: 'running', error: null });
  let embedder: Embedder | null = null;
  const sizer = new BatchSizer(opts.batchSize ?? (backbone.kind === 'raw-pixels' ? 256 : undefined));
  try {
    if (opts.signal?.aborted) throw new LabError('cancelled', 'Cancelled.');
    emit('loading model');
    if (pending.length > 0) embedder = await createEmbedder(backbone, { provider, modelsDir: opts.modelsDir, graphPreprocess: graphPreprocess ?? undefined });
    if (embedder) {
      sizer.useProvider(embedder.provider);
      update({ provider: embedder.provider, preprocessing: embedder.preprocessing, notice: embedder.notices.length ? embedder.notices.join('\n') : null });
      if (embedder.dim !== set.dim) throw new LabError('bad_model', `The backbone gives ${embedder.dim} dims but the set expects ${set.dim}.`);
    }
    const emb = embedder;
    const insert = db.prepare('INSERT OR IGNORE INTO embeddings (set_id, sample_id, vector) VALUES (?, ?, ?)');
    const commit = db.transaction((ids: number[], vecs: Float32Array, dim: number) => {
      for (let i = 0; i < ids.length; i++) insert.run(setId, ids[i], f32ToBlob(vecs.subarray(i * dim, (i + 1) * dim)));
    });
    const prepare = async (ids: number[]): Promise<{ ids: number[]; buf: Float32Array | Uint8Array }> => {
      const len = emb!.inputLength;
      const buf = emb!.allocate(ids.length);
      await Promise.all(
        ids.map(async (id, i) => {
          let img: RGBImage;
          try {
            img = await opts.loadImage(id);
          } catch (err) {
            const e = toLabError(err);
            throw new LabError(e.code === 'internal' ? 'bad_image' : e.code, `Sample ${id}: ${e.message}`);
          }
          emb!.prepare(img, preset, buf, i * len);
        }),
      );
      return { ids, buf };
    };
    let cursor = 0;
    let trialIndex = 0;
    const take = (): { ids: number[]; size: number; trial: number } | null => {
      if (cursor >= pending.length) return null;
      const size = sizer.next();
      const ids = pending.slice(cursor, cursor + size);
      cursor += ids.length;
      return { ids, size, trial: trialIndex++ };
    };
    emit('embedding');
    let nextSpec = emb ? take() : null;
    let nextPrep = nextSpec ? prepare(nextSpec.ids) : null;
    while (nextPrep && nextSpec) {
      const spec = nextSpec;
      const batch = await nextPrep;
      const t0 = performance.now();
      const inference = emb!.embed(batch.buf, batch.ids.length);
      // Decode and preprocess the next batch on this thread while the worker runs this one.
      nextSpec = opts.signal?.aborted ? null : take();
      nextPrep = nextSpec ? prepare(nextSpec.ids) : null;
      nextPrep?.catch(() => undefined);
      const vecs = await inference;
      sizer.record(spec.size, batch.ids.length, performance.now() - t0, spec.trial);
      const bad = firstNonFinite(vecs);
      if (bad >= 0) {
        const sample = batch.ids[Math.floor(bad / emb!.dim)];
        throw new LabError('job_failed', `The model produced NaN or Inf for sample ${sample}: the backbone (or its precision on this provider) is not usable; try another provider or the float32 model.`);
      }
      commit(batch.ids, vecs, emb!.dim);
      computed += batch.ids.length;
      doneCount += batch.ids.length;
      emit('embedding');
      // Let timers and the IPC channel run between batches: when loading images is slower than inference
      // the loop never waits on the worker, and a cancel (or the host's disappearance) would go unseen.
      await new Promise<void>((r) => setImmediate(r));
      if (opts.signal?.aborted) break;
    }
    const s = summary(opts.signal?.aborted && doneCount < total ? 'partial' : 'done', embedder, sizer.chosen);
    if (embedder) update({ batch_size: s.batchSize, images_per_sec: s.imagesPerSec });
    update({ status: s.status, seconds: s.seconds });
    if (s.status === 'partial') {
      throw new LabError('cancelled', `Cancelled with ${s.done} of ${s.total} vectors stored: run the set again to resume.`, { setId, done: s.done, total: s.total });
    }
    s.done = countDone();
    return s;
  } catch (err) {
    const e = toLabError(err);
    const elapsed = (performance.now() - started) / 1000;
    if (e.code === 'cancelled') {
      update({ status: 'partial', seconds: priorSeconds + elapsed });
    } else if (e.code === 'disk_full') {
      // Whole batches are committed: the set resumes once there is room again.
      update({ status: 'partial', error: e.message, seconds: priorSeconds + elapsed });
    } else {
      update({ status: 'failed', error: e.message, seconds: priorSeconds + elapsed });
    }
    throw e;
  } finally {
    await embedder?.close();
  }
}
