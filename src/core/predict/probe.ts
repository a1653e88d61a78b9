/**
 * "Try an image": embeds dropped images with an embedding set's backbone and preset, asks every finished
 * run of the set, finds the nearest training images, and scores how unusual each image is (mean cosine
 * similarity of its k nearest training vectors, placed within the same score's distribution over a seeded
 * subsample of the test split). Results are kept in `probes`.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { getBackbone } from '../backbones/registry';
import { normalizeRows } from '../math/normalize';
import { matrix } from '../math/matrix';
import { f32ToBlob, type Db } from '../db/database';
import { mulberry32 } from '../math/prng';
import { createEmbedder, type ProviderChoice } from '../embeddings/engine';
import { getSet, loadSetMatrix } from '../embeddings/queries';
import { LabError, throwIfAborted } from '../errors';
import { decodeRGB } from '../images/decode';
import type { Preset } from '../images/preprocess';
import { loadRunClassifier } from '../runs/models/queries';
import { listRuns } from '../runs/queries';
import { insertProbe } from './queries';

// Stored probes are read and deleted through the feature's queries; lab.ts still imports them from here.

/** Neighbours whose mean similarity makes the out-of-distribution score. */
export const OOD_K = 10;
/** Test rows used for the reference distribution of that score. */
const OOD_REFERENCE_ROWS = 300;
/** Below this percentile of the test split's scores an image is flagged as unusual. */
const UNUSUAL_PERCENTILE = 0.05;

export interface ProbeImage {
  name: string;
  file: string;
}

export interface ProbeOutcome {
  probeIds: number[];
  /** Images that could not be read, each with the reason in plain words; the others were tried. */
  refused: { name: string; reason: string }[];
}

/** Why an image file could not be used, in one plain sentence (no library internals). */
function unreadable(file: string, err: unknown): string {
  let size = -1;
  try {
    size = fs.statSync(file).size;
  } catch {
    /* gone: reported below as unreadable */
  }
  // decodeRGB's own refusals are already plain sentences naming the file.
  if (err instanceof LabError) return err.message;
  if (size === 0) return 'The file is empty (0 bytes).';
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format|bad seek|corrupt|premature end|invalid|unable to|vips/i.test(msg)) {
    return 'It is not a readable image (the file is damaged, or not an image despite its name).';
  }
  return msg;
}

/** Top-k cosine similarities of one normalised query against normalised rows. */
function topK(q: Float32Array, qOff: number, rows: Float32Array, n: number, d: number, k: number): { idx: number[]; sim: number[] } {
  const idx: number[] = [];
  const sim: number[] = [];
  for (let r = 0; r < n; r++) {
    let s = 0;
    const o = r * d;
    for (let j = 0; j < d; j++) s += q[qOff + j]! * rows[o + j]!;
    if (sim.length < k || s > sim[sim.length - 1]!) {
      let p = sim.length < k ? sim.length : k - 1;
      if (sim.length < k) {
        sim.push(s);
        idx.push(r);
      }
      while (p > 0 && sim[p - 1]! < s) {
        sim[p] = sim[p - 1]!;
        idx[p] = idx[p - 1]!;
        p--;
      }
      sim[p] = s;
      idx[p] = r;
    }
  }
  return { idx, sim };
}

const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);

export async function runProbe(
  db: Db,
  setId: number,
  images: ProbeImage[],
  opts: { modelsDir: string; signal?: AbortSignal; onProgress?: (phase: string, done: number, total: number) => void },
): Promise<ProbeOutcome> {
  const set = getSet(db, setId);
  if (set.status !== 'done') throw new LabError('conflict', `Embedding set ${setId} is '${set.status}': finish embedding it before trying images.`);
  const backbone = getBackbone(db, set.backboneId);
  const report = opts.onProgress ?? (() => undefined);

  // Each image stands on its own: one that cannot be read is refused (named, with the reason), the rest are tried.
  report('decoding', 0, images.length);
  const decoded = [];
  const kept: ProbeImage[] = [];
  const refused: ProbeOutcome['refused'] = [];
  for (const [i, im] of images.entries()) {
    try {
      decoded.push(await decodeRGB(im.file));
      kept.push(im);
    } catch (err) {
      refused.push({ name: path.basename(im.name), reason: unreadable(im.file, err) });
    }
    report('decoding', i + 1, images.length);
  }
  throwIfAborted(opts.signal);
  if (!kept.length) throw new LabError('bad_image', `No image could be tried: ${refused.map((r) => `${r.name}: ${r.reason}`).join(' ')}`);
  images = kept;

  report('embedding', 0, images.length);
  const provider = (set.provider === 'cpu' || set.provider === 'webgpu' || set.provider === 'cuda' ? set.provider : 'auto') as ProviderChoice;
  const embedder = await createEmbedder(backbone, { provider, modelsDir: opts.modelsDir });
  let vectors: Float32Array;
  try {
    const batch = new Float32Array(embedder.inputLength * decoded.length);
    decoded.forEach((img, i) => embedder.prepare(img, set.preset as Preset, batch, i * embedder.inputLength));
    vectors = await embedder.embed(batch, decoded.length);
  } finally {
    await embedder.close();
  }
  if (vectors.some((v) => !Number.isFinite(v))) throw new LabError('bad_model', 'The backbone produced NaN or infinite values for this image.');
  report('embedding', images.length, images.length);
  throwIfAborted(opts.signal);

  report('comparing', 0, images.length);
  const dim = backbone.dim;
  const X = matrix(decoded.length, dim, vectors);
  const train = loadSetMatrix(db, setId, 'train');
  const test = loadSetMatrix(db, setId, 'test');
  const trainN = normalizeRows(train.X);
  const qN = normalizeRows(X);

  // Reference distribution of the OOD score over a seeded subsample of the test split.
  const rand = mulberry32(7);
  const refRows = Math.min(OOD_REFERENCE_ROWS, test.X.rows);
  const testN = normalizeRows(test.X);
  const refScores: number[] = [];
  const step = test.X.rows / Math.max(1, refRows);
  for (let i = 0; i < refRows; i++) {
    const r = Math.min(test.X.rows - 1, Math.floor(i * step + rand() * step));
    refScores.push(mean(topK(testN, r * dim, trainN, train.X.rows, dim, OOD_K).sim));
  }
  refScores.sort((a, b) => a - b);

  const runs = listRuns(db, setId).filter((r) => r.status === 'done');
  const perRun = [];
  for (const r of runs) {
    const clf = loadRunClassifier(db, r.id);
    const proba = await clf.predictProba(X);
    const predicted = await clf.predict(X);
    perRun.push({ runId: r.id, kind: r.kind, proba, predicted });
  }

  const probeIds: number[] = [];
  for (let i = 0; i < images.length; i++) {
    const nn = topK(qN, i * dim, trainN, train.X.rows, dim, Math.max(8, OOD_K));
    const score = mean(nn.sim.slice(0, OOD_K));
    const below = refScores.filter((s) => s <= score).length;
    const percentile = refScores.length ? below / refScores.length : 1;
    const predictions = perRun.map((p) => {
      const row = Array.from(p.proba.data.subarray(i * p.proba.cols, (i + 1) * p.proba.cols));
      const top = row
        .map((prob, label) => ({ label, prob }))
        .sort((a, b) => b.prob - a.prob)
        .slice(0, 3);
      return { runId: p.runId, kind: p.kind, predicted: p.predicted[i]!, top };
    });
    const agree = predictions.length > 0 && predictions.every((p) => p.predicted === predictions[0]!.predicted);
    const results = {
      ood: { similarity: score, percentile, unusual: refScores.length > 0 && percentile < UNUSUAL_PERCENTILE },
      neighbors: nn.idx.slice(0, 8).map((r, j) => ({ sampleId: train.sampleIds[r]!, label: train.y[r]!, similarity: nn.sim[j]! })),
      predictions,
      agree,
    };
    const bytes = fs.readFileSync(images[i]!.file);
    const thumb = await sharp(bytes, { limitInputPixels: 100_000_000 }).rotate().resize(128, 128, { fit: 'inside' }).jpeg({ quality: 80 }).toBuffer();
    const id = insertProbe(db, {
      setId,
      name: path.basename(images[i]!.name),
      sha256: crypto.createHash('sha256').update(bytes).digest('hex'),
      thumb,
      embedding: f32ToBlob(X.data.slice(i * dim, (i + 1) * dim)),
      results,
    });
    probeIds.push(id);
    report('comparing', i + 1, images.length);
  }
  return { probeIds, refused };
}
