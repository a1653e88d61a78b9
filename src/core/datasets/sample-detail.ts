/**
 * One sample opened in the sample browser: a larger image, its facts, and its nearest training images in
 * the newest finished embedding set of its dataset (cosine similarity over that set's training vectors).
 */
import sharp from 'sharp';
import type { MethodOutput } from '../../shared/contract';
import type { Db } from '../db/database';
import { listSets, loadSetMatrix, sampleVector } from '../embeddings/queries';
import { thumbDataUrl } from '../thumbs';
import { loadSampleRGB, sampleFacts } from './queries';

const NEIGHBOURS = 8;
const IMAGE_PX = 256;

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
    const train = loadSetMatrix(db, set.id, 'train');
    const d = train.X.cols;
    let qn = 0;
    for (let j = 0; j < d; j++) qn += q[j]! * q[j]!;
    qn = Math.sqrt(qn) || 1;
    const scored: { i: number; s: number }[] = [];
    for (let r = 0; r < train.X.rows; r++) {
      if (train.sampleIds[r] === sampleId) continue;
      let dot = 0;
      let n = 0;
      const o = r * d;
      for (let j = 0; j < d; j++) {
        const v = train.X.data[o + j]!;
        dot += q[j]! * v;
        n += v * v;
      }
      scored.push({ i: r, s: dot / (qn * (Math.sqrt(n) || 1)) });
    }
    scored.sort((a, b) => b.s - a.s);
    for (const { i, s } of scored.slice(0, NEIGHBOURS)) {
      const id = train.sampleIds[i]!;
      neighbors.push({ sampleId: id, label: train.y[i]!, similarity: s, thumb: await thumbDataUrl(db, id) });
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
