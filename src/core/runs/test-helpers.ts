import { f32ToBlob, nowIso, type Db } from '../db/database';
import { Prng } from '../math/prng';

/** Options of a synthetic embedding set: seeded Gaussian blobs, one per class. */
export interface BlobSetOptions {
  numClasses?: number;
  dim?: number;
  trainPerClass?: number;
  testPerClass?: number;
  /** Distance scale of the class means; with noise sd 1, 1.0 gives well separated but not trivial classes. */
  separation?: number;
  seed?: number;
  name?: string;
  status?: 'pending' | 'running' | 'partial' | 'done' | 'failed';
  /** The set's backbone (default: a raw-pixels row named test-raw). */
  backboneId?: number;
}

/**
 * Inserts a dataset, its samples, a raw-pixels backbone, an embedding set and one vector per sample:
 * class c's vectors are N(mu_c, I) with mu_c ~ N(0, separation^2 / dim * I) * sqrt(dim), seeded.
 * For tests only.
 */
export function insertBlobEmbeddingSet(db: Db, o: BlobSetOptions = {}): { datasetId: number; setId: number; sampleIds: number[] } {
  const C = o.numClasses ?? 4;
  const D = o.dim ?? 16;
  const ntr = o.trainPerClass ?? 50;
  const nte = o.testPerClass ?? 20;
  const sep = o.separation ?? 1;
  const rng = new Prng(o.seed ?? 1);
  const name = o.name ?? `blobs-${o.seed ?? 1}-${Math.floor(Math.random() * 1e9)}`;
  const mu = new Float32Array(C * D);
  for (let i = 0; i < mu.length; i++) mu[i] = rng.normal() * sep;
  const now = nowIso();
  const sampleIds: number[] = [];
  let datasetId = 0;
  let setId = 0;
  db.transaction(() => {
    datasetId = Number(
      db
        .prepare('INSERT INTO datasets (name, kind, classes, source, fingerprint, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(name, 'synthetic', JSON.stringify(Array.from({ length: C }, (_, c) => `class${c}`)), 'test', `fp-${name}`, now).lastInsertRowid,
    );
    const bb = db.prepare('SELECT id FROM backbones WHERE name = ?').get('test-raw') as { id: number } | undefined;
    const backboneId =
      o.backboneId ??
      bb?.id ??
      Number(db.prepare("INSERT INTO backbones (name, kind, dim, created_at) VALUES ('test-raw', 'raw-pixels', ?, ?)").run(D, now).lastInsertRowid);
    setId = Number(
      db
        .prepare('INSERT INTO embedding_sets (dataset_id, backbone_id, preset, dim, status, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(datasetId, backboneId, 'resize-224', D, o.status ?? 'done', now).lastInsertRowid,
    );
    const insS = db.prepare(
      'INSERT INTO samples (dataset_id, idx, split, label, source, width, height) VALUES (?, ?, ?, ?, ?, 32, 32)',
    );
    const insE = db.prepare('INSERT INTO embeddings (set_id, sample_id, vector) VALUES (?, ?, ?)');
    let idx = 0;
    for (const [split, per] of [
      ['train', ntr],
      ['test', nte],
    ] as const) {
      for (let i = 0; i < per * C; i++) {
        const label = i % C;
        const sid = Number(insS.run(datasetId, idx++, split, label, `${split}/${i}`).lastInsertRowid);
        const v = new Float32Array(D);
        for (let j = 0; j < D; j++) v[j] = mu[label * D + j]! + rng.normal();
        insE.run(setId, sid, f32ToBlob(v));
        sampleIds.push(sid);
      }
    }
  })();
  return { datasetId, setId, sampleIds };
}

/**
 * Adds a second embedding set on an existing set's dataset, from another backbone (`name`), whose vectors
 * are the first set's scaled by `scale` plus seeded noise of sd `noise`. For tests only.
 */
export function insertSiblingSet(db: Db, fromSetId: number, o: { name: string; noise?: number; scale?: number; seed?: number }): number {
  const rng = new Prng(o.seed ?? 7);
  const now = nowIso();
  let setId = 0;
  db.transaction(() => {
    const src = db.prepare('SELECT dataset_id, dim FROM embedding_sets WHERE id = ?').get(fromSetId) as { dataset_id: number; dim: number };
    const bb = db.prepare('SELECT id FROM backbones WHERE name = ?').get(o.name) as { id: number } | undefined;
    const backboneId =
      bb?.id ?? Number(db.prepare("INSERT INTO backbones (name, kind, dim, created_at) VALUES (?, 'raw-pixels', ?, ?)").run(o.name, src.dim, now).lastInsertRowid);
    setId = Number(
      db
        .prepare("INSERT INTO embedding_sets (dataset_id, backbone_id, preset, dim, status, created_at) VALUES (?, ?, 'resize-224', ?, 'done', ?)")
        .run(src.dataset_id, backboneId, src.dim, now).lastInsertRowid,
    );
    const ins = db.prepare('INSERT INTO embeddings (set_id, sample_id, vector) VALUES (?, ?, ?)');
    for (const r of db.prepare('SELECT sample_id, vector FROM embeddings WHERE set_id = ? ORDER BY sample_id').all(fromSetId) as { sample_id: number; vector: Buffer }[]) {
      const v = new Float32Array(r.vector.buffer.slice(r.vector.byteOffset, r.vector.byteOffset + r.vector.byteLength));
      for (let j = 0; j < v.length; j++) v[j] = v[j]! * (o.scale ?? 1) + rng.normal() * (o.noise ?? 0);
      ins.run(setId, r.sample_id, f32ToBlob(v));
    }
  })();
  return setId;
}

/** Puts a run in a label sweep's group (issue 16 will make these). For tests only. */
export function setRunSweep(db: Db, runId: number, sweepId: number): void {
  db.prepare('UPDATE runs SET sweep_id = ? WHERE id = ?').run(sweepId, runId);
}
