/**
 * Models stored as binary (a JSON header plus float32/int32 arrays in chunks), never as one text: saving
 * and reloading builds no string longer than the header, chunking round-trips, and runs saved in the old
 * format (one JSON text with base64 arrays, before migration 5) still load, predict and export.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeModel } from '../classifiers/model-codec';
import { loadClassifier } from '../classifiers/registry';
import { f32ToB64, type SavedModel } from '../classifiers/types';
import Database from 'better-sqlite3';
import { openDatabase, type Db } from '../db/database';
import { migrations } from '../db/migrations';
import { loadSetData } from '../embeddings/queries';
import { clearModelCache, loadRunClassifier, predictWithRun, readArtifact, setArtifactChunkBytes, writeArtifact } from './models/queries';
import { exportRun, getRun } from './queries';
import { insertBlobEmbeddingSet } from './test-helpers';
import { createRun, executeRun, saveModel } from './train-run';
import { skipWithReason } from '../../../tests/helpers';

let dir: string;
let file: string;
let db: Db;
let setId: number;
let prevChunk: number;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-models-'));
  file = path.join(dir, 'lab.db');
  db = openDatabase(file);
  // 4 classes x 60 training rows of 32 dims: the k-NN vectors would be 41 KB of base64 text.
  setId = insertBlobEmbeddingSet(db, { numClasses: 4, dim: 32, trainPerClass: 60, testPerClass: 20, separation: 0.5, seed: 5 }).setId;
  prevChunk = setArtifactChunkBytes(256);
});
afterAll(() => {
  setArtifactChunkBytes(prevChunk);
  db.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
afterEach(() => vi.restoreAllMocks());

/** Records the length of every string JSON.stringify, Buffer#toString and TextDecoder#decode build. */
function watchStrings(): { longest: () => number } {
  let longest = 0;
  const note = (s: unknown): void => {
    if (typeof s === 'string' && s.length > longest) longest = s.length;
  };
  const stringify = JSON.stringify.bind(JSON);
  vi.spyOn(JSON, 'stringify').mockImplementation(((...a: Parameters<typeof JSON.stringify>) => {
    const s = stringify(...a);
    note(s);
    return s;
  }) as typeof JSON.stringify);
  const toString = Buffer.prototype.toString;
  vi.spyOn(Buffer.prototype, 'toString').mockImplementation(function (this: Buffer, ...a: unknown[]) {
    const s = (toString as (...x: unknown[]) => string).apply(this, a);
    note(s);
    return s;
  });
  const decode = TextDecoder.prototype.decode;
  vi.spyOn(TextDecoder.prototype, 'decode').mockImplementation(function (this: InstanceType<typeof TextDecoder>, input?: Parameters<InstanceType<typeof TextDecoder>['decode']>[0], options?: { stream?: boolean }) {
    const s = decode.call(this, input, options);
    note(s);
    return s;
  });
  return { longest: () => longest };
}

const stored = (runId: number): { format: string; headerBytes: number; chunks: number; arrays: number } => {
  const a = db.prepare('SELECT format, length(data) AS n FROM artifacts WHERE run_id = ?').get(runId) as { format: string; n: number };
  const c = db.prepare('SELECT count(*) AS chunks, count(DISTINCT array_idx) AS arrays FROM artifact_chunks WHERE run_id = ?').get(runId) as {
    chunks: number;
    arrays: number;
  };
  return { format: a.format, headerBytes: a.n, ...c };
};

describe('models stored as binary', () => {
  it.each(['knn', 'svc'] as const)(
    '%s: saved in chunks and reloaded without any string longer than its header, predicting the same',
    async (kind) => {
      const runId = createRun(db, { setId, kind, seed: 2 });
      await executeRun(db, runId);
      const data = loadSetData(db, setId);
      const s = stored(runId);
      expect(s.format).toBe('bin1');
      // Chunked at 256 bytes: every array of these models spans several chunks.
      expect(s.chunks).toBeGreaterThan(s.arrays);
      const live = (db.prepare('SELECT predicted FROM predictions WHERE run_id = ? ORDER BY sample_id').all(runId) as { predicted: number }[]).map(
        (r) => r.predicted,
      );
      clearModelCache(db);
      const clf = loadRunClassifier(db, runId);
      expect(Array.from(await clf.predict(data.test.X))).toEqual(live);
      const before = await clf.predictProba(data.test.X);

      // The save and load path, watched: encode, write, read back, predict.
      const watch = watchStrings();
      const { model } = saveModel({ kind, set_id: setId }, clf, data);
      writeArtifact(db, runId, model);
      clearModelCache(db);
      const again = await predictWithRun(db, runId, data.test.X);
      vi.restoreAllMocks();
      const header = stored(runId).headerBytes;
      expect(header).toBeLessThan(1000);
      expect(watch.longest()).toBeGreaterThan(0);
      expect(watch.longest()).toBeLessThanOrEqual(header);
      expect(Array.from(again.predicted)).toEqual(live);
      expect(Array.from(again.proba.data)).toEqual(Array.from(before.data));
      if (kind === 'knn') {
        // Its vectors are the set's, by reference: only the labels are stored.
        expect(model.arrays).toHaveLength(1);
        expect(model.arrays[0]).toBeInstanceOf(Int32Array);
      }
    },
  );

  it('a chunk that is missing is reported, not read as zeros', async () => {
    const runId = createRun(db, { setId, kind: 'logreg', seed: 0 });
    await executeRun(db, runId);
    db.prepare('DELETE FROM artifact_chunks WHERE run_id = ? AND chunk_idx = 1 AND array_idx = 0').run(runId);
    clearModelCache(db);
    expect(() => loadRunClassifier(db, runId)).toThrow(/array 0 holds 256 of its \d+ bytes/);
  });

  it('over 512 MB: a logreg model of 537 MB round-trips in 64 MB chunks and predicts the same (DINOLAB_BIG_MODEL_TEST=1)', async (ctx) => {
    if (process.env.DINOLAB_BIG_MODEL_TEST !== '1') {
      skipWithReason(ctx, 'opt-in (DINOLAB_BIG_MODEL_TEST=1): writes a 537 MB model into a temporary database and needs ~2 GB of memory');
      return;
    }
    const bigFile = path.join(dir, 'big.db');
    const big = openDatabase(bigFile);
    const prev = setArtifactChunkBytes(64 * 1024 * 1024);
    try {
      const { setId: sid } = insertBlobEmbeddingSet(big, { numClasses: 2, dim: 4, trainPerClass: 2, testPerClass: 1, seed: 1 });
      const runId = createRun(big, { setId: sid, kind: 'logreg', seed: 0 });
      await executeRun(big, runId);
      // A logreg model of 65,536 features x 2,048 classes: W holds 134 M floats (537 MB; as base64 text it
      // would be 716 MB, over V8's 512 MB string limit).
      const D = 65_536;
      const C = 2_048;
      const W = new Float32Array(D * C);
      for (let i = 0; i < W.length; i += 7) W[i] = ((i * 2654435761) % 1000) / 1000 - 0.5;
      const saved: SavedModel = {
        kind: 'logreg',
        version: 1,
        params: { C: 1 },
        numClasses: C,
        dim: D,
        state: { W, b: new Float32Array(C), mean: new Float32Array(D), std: new Float32Array(D).fill(1), chosenC: null },
      };
      const X = { rows: 2, cols: D, data: Float32Array.from({ length: 2 * D }, (_, i) => Math.sin(i)) };
      const expected = Array.from(await loadClassifier(saved).predict(X));
      const watch = watchStrings();
      writeArtifact(big, runId, encodeModel(saved));
      const a = big.prepare('SELECT format, data FROM artifacts WHERE run_id = ?').get(runId) as { format: string; data: Buffer };
      const back = readArtifact(big, runId, a);
      vi.restoreAllMocks();
      expect(watch.longest()).toBeLessThanOrEqual(a.data.byteLength);
      const chunks = big.prepare('SELECT count(*) AS c FROM artifact_chunks WHERE run_id = ? AND array_idx = 0').get(runId) as { c: number };
      expect(chunks.c).toBe(Math.ceil((W.byteLength) / (64 * 1024 * 1024)));
      const W2 = back.state.W as Float32Array;
      expect(W2.length).toBe(W.length);
      for (let i = 0; i < W.length; i += 9973) expect(W2[i]).toBe(W[i]);
      expect(Array.from(await loadClassifier(back).predict(X))).toEqual(expected);
    } finally {
      setArtifactChunkBytes(prev);
      big.close();
      fs.rmSync(bigFile, { force: true });
    }
  }, 300_000);
});

/** A stored 'bin1' model rewritten as the code before migration 5 wrote it: one JSON text, arrays as base64. */
function toOldFormat(d: Db, runId: number): void {
  clearModelCache(d);
  const clf = loadRunClassifier(d, runId);
  const saved = clf.toJSON();
  const state: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(saved.state)) {
    if (v instanceof Float32Array) state[k] = f32ToB64(v);
    else if (v instanceof Int32Array) state[k] = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
    else if (Array.isArray(v) && v.every((x) => x instanceof Float32Array)) state[k] = (v as Float32Array[]).map((x) => f32ToB64(x));
    else state[k] = v;
  }
  const kind = (d.prepare('SELECT kind FROM runs WHERE id = ?').get(runId) as { kind: string }).kind;
  if (kind === 'knn') {
    // executeRun (before) deleted the base64 vectors and put the set's id in their place.
    delete state.train;
    state.trainFromSet = (d.prepare('SELECT set_id FROM runs WHERE id = ?').get(runId) as { set_id: number }).set_id;
  }
  d.prepare("UPDATE artifacts SET format = 'json', data = ? WHERE run_id = ?").run(Buffer.from(JSON.stringify({ ...saved, state })), runId);
}

/**
 * Takes a database back to the schema of version 4 (before binary storage): every index, table and column
 * that a later migration added is dropped, whatever later migrations there are, by comparing with a fresh
 * database made by migrations 1-4 alone.
 */
function rollBackToVersion4(d: Db): void {
  const ref = new Database(':memory:');
  for (const m of migrations.filter((m) => m.version <= 4)) ref.exec(m.sql);
  const names = (db: { prepare(s: string): { all(): unknown[] } }, type: string): Set<string> =>
    new Set((db.prepare(`SELECT name FROM sqlite_master WHERE type = '${type}' AND name NOT LIKE 'sqlite_%'`).all() as { name: string }[]).map((r) => r.name));
  const refTables = names(ref, 'table');
  const refIndexes = names(ref, 'index');
  for (const t of names(d, 'trigger')) if (!names(ref, 'trigger').has(t)) d.exec(`DROP TRIGGER "${t}"`);
  for (const i of names(d, 'index')) if (!refIndexes.has(i)) d.exec(`DROP INDEX "${i}"`);
  d.pragma('foreign_keys = OFF');
  for (const t of names(d, 'table')) {
    if (!refTables.has(t)) {
      d.exec(`DROP TABLE "${t}"`);
      continue;
    }
    const cols = (db: { prepare(s: string): { all(): unknown[] } }): string[] => (db.prepare(`PRAGMA table_info("${t}")`).all() as { name: string }[]).map((c) => c.name);
    const keep = new Set(cols(ref));
    for (const c of cols(d)) if (!keep.has(c)) d.exec(`ALTER TABLE "${t}" DROP COLUMN "${c}"`);
  }
  d.pragma('foreign_keys = ON');
  ref.close();
  d.pragma('user_version = 4');
}

describe('runs trained before binary storage', () => {
  it('load, predict and export after migration 5, for every kind', async () => {
    const oldFile = path.join(dir, 'old.db');
    let old = openDatabase(oldFile);
    const sid = insertBlobEmbeddingSet(old, { numClasses: 3, dim: 8, trainPerClass: 30, testPerClass: 10, separation: 0.8, seed: 9 }).setId;
    const runs: Record<string, number> = {};
    const expected: Record<string, number[]> = {};
    const X = loadSetData(old, sid).test.X;
    for (const kind of ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const) {
      runs[kind] = createRun(old, { setId: sid, kind, seed: 1 });
      await executeRun(old, runs[kind]);
      expected[kind] = Array.from((await predictWithRun(old, runs[kind], X)).predicted);
      toOldFormat(old, runs[kind]);
    }
    // The schema as it was at version 4: no chunk table, no train_metric_rows or max_train_rows (nor what later
    // migrations added).
    rollBackToVersion4(old);
    expect(old.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'artifact_chunks'").get()).toEqual({ n: 0 });
    old.close();

    old = openDatabase(oldFile);
    try {
      expect(old.pragma('user_version', { simple: true })).toBeGreaterThanOrEqual(5);
      for (const [kind, runId] of Object.entries(runs)) {
        const a = old.prepare('SELECT format FROM artifacts WHERE run_id = ?').get(runId) as { format: string };
        expect(a.format, kind).toBe('json');
        expect(getRun(old, runId).train_metric_rows).toBeNull();
        const { predicted } = await predictWithRun(old, runId, X);
        expect(Array.from(predicted), kind).toEqual(expected[kind]);
        const out = exportRun(old, runId, path.join(dir, `export-${kind}`));
        expect(out.rows).toBe(X.rows);
        expect(fs.readFileSync(out.predictionsFile, 'utf8').split('\n')[0]).toMatch(/^sample_id,split,label,predicted,p_0/);
      }
    } finally {
      old.close();
    }
  });
});
