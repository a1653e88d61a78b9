/**
 * One sample opened in the sample browser: a larger image, its facts, and its nearest training images in
 * the newest finished embedding set of its dataset (cosine similarity over that set's training vectors).
 */
import sharp from 'sharp';
import type { MethodOutput } from '../../shared/contract';
import type { Db } from '../db/database';
import { blobToF32 } from '../db/database';
import { LabError } from '../errors';
import { listSets, sampleVector, trainVectorPage } from '../embeddings/queries';
import { thumbDataUrl } from '../thumbs';
import { loadSampleRGB, sampleFacts } from './queries';

const NEIGHBOURS = 8;
const IMAGE_PX = 256;
/** Training vectors read per query while looking for neighbours (at 3,072-d: 25 MB). */
const PAGE_ROWS = 2048;

/**
 * The k training vectors of a set most cosine-similar to q (float64 sums), the sample `excludeId` left
 * out, in order of similarity (ties by sample id). Read page by page (keyset on sample id) with a running
 * top k, so memory is one page rather than the whole split (614 MB at 50,000 x 3,072, which this once
 * loaded for every sample opened), and the host answers other calls between pages.
 */
export async function nearestTraining(
  db: Db,
  setId: number,
  q: Float32Array,
  excludeId: number,
  k = NEIGHBOURS,
  pageRows = PAGE_ROWS,
): Promise<{ sampleId: number; label: number; similarity: number }[]> {
  const d = q.length;
  let qn = 0;
  for (let j = 0; j < d; j++) qn += q[j]! * q[j]!;
  qn = Math.sqrt(qn) || 1;
  const top: { sampleId: number; label: number; similarity: number }[] = [];
  let after = -1;
  for (;;) {
    const rows = trainVectorPage(db, setId, after, pageRows);
    for (const r of rows) {
      if (r.vector.byteLength !== d * 4) {
        throw new LabError('db_corrupt', `Vector of sample ${r.id} in set ${setId} has ${r.vector.byteLength / 4} values, expected ${d}.`);
      }
      if (r.id === excludeId) continue;
      const v = blobToF32(r.vector, d);
      let dot = 0;
      let n = 0;
      for (let j = 0; j < d; j++) {
        dot += q[j]! * v[j]!;
        n += v[j]! * v[j]!;
      }
      const s = dot / (qn * (Math.sqrt(n) || 1));
      if (top.length === k && !(s > top[k - 1]!.similarity)) continue;
      let at = top.length;
      while (at > 0 && s > top[at - 1]!.similarity) at--;
      top.splice(at, 0, { sampleId: r.id, label: r.label, similarity: s });
      if (top.length > k) top.pop();
    }
    if (rows.length < pageRows) return top;
    after = rows[rows.length - 1]!.id;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

export async function sampleDetail(db: Db, sampleId: number): Promise<MethodOutput<'samples.get'>> {
  const facts = sampleFacts(db, sampleId);
  const rgb = await loadSampleRGB(db, sampleId);
  const scale = Math.max(rgb.width, rgb.height);
  // Small images (CIFAR's 32 px) are scaled up without smoothing, large ones down to fit.
  const png = await sharp(Buffer.from(rgb.data), { raw: { width: rgb.width, height: rgb.height, channels: 3 } })
    .resize({ width: rgb.width >= rgb.height ? IMAGE_PX : undefined, height: rgb.height > rgb.width ? IMAGE_PX : undefined, kernel: scale < IMAGE_PX ? 'nearest' : 'lanczos3' })
    .png()
    .toBuffer();
  const set = listSets(db).find((s) => s.datasetId === facts.datasetId && s.status === 'done');
  const neighbors: MethodOutput<'samples.get'>['neighbors'] = [];
  const q = set ? sampleVector(db, set.id, sampleId) : null;
  if (set && q) {
    for (const n of await nearestTraining(db, set.id, q, sampleId)) {
      neighbors.push({ ...n, thumb: await thumbDataUrl(db, n.sampleId) });
    }
  }
  return {
    ...facts,
    image: `data:image/png;base64,${png.toString('base64')}`,
    setId: set?.id ?? null,
    setLabel: set ? `#${set.id} · ${set.backboneName} · ${set.preset}` : null,
    neighbors,
  };
}
