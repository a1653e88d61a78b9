import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BackboneRow } from '../backbones/registry';
import { addBackboneFile } from '../backbones/registry';
import { encodeModel, OnnxType } from '../onnx/onnx-writer';
import { f16Model, tinyBackbone, tokensModel } from '../backbones/tiny-models';
import { type Db, blobToF32, nowIso, openDatabase } from '../db/database';
import { decodeRGB } from '../images/decode';
import { preprocessTo } from '../images/preprocess';
import { createEmbedder } from './engine';
import { createEmbeddingSet, runEmbeddingSet } from './pipeline';
import { cosine } from './testing/cosine';
import { getSet } from './queries';
import { insertPixelDataset, pixelLoader } from './testing/fixture-db';

const FIX = path.resolve(process.cwd(), '../shared/fixtures');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-graphpre-'));
const modelsDir = path.join(dir, 'models');
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));


function row(p: Partial<BackboneRow>): BackboneRow {
  return {
    id: 1, name: 'test', kind: 'onnx', file: null, sha256: null, sizeBytes: 0, inputName: 'pixel_values', outputName: 'pooler_output',
    outputKind: 'pooler', dim: 3, precision: 'float32', imageSize: 8, createdAt: '', ...p,
  };
}

function write(name: string, bytes: Uint8Array): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, bytes);
  return f;
}

function vectors(db: Db, setId: number): Map<number, Float32Array> {
  const rows = db.prepare('SELECT sample_id, vector FROM embeddings WHERE set_id = ?').all(setId) as { sample_id: number; vector: Buffer }[];
  return new Map(rows.map((r) => [r.sample_id, new Float32Array(blobToF32(r.vector))]));
}

describe('in-graph preprocessing: parity with PyTorch', () => {
  it('each fixture image, fed as uint8 pixels to the fused DINOv2 graph, has 1 - cosine < 1e-8 with the reference', async () => {
    const ref = JSON.parse(fs.readFileSync(path.join(FIX, 'images/reference-embeddings.json'), 'utf8')) as { embeddings: Record<string, number[]> };
    const db = openDatabase(path.join(dir, 'parity.db'));
    const backbone = await addBackboneFile(db, path.join(FIX, 'models/dinov2-vits14-random.onnx'));
    const report: string[] = [];
    // One dataset per image: in-graph preprocessing needs images of one size, and the eight differ.
    for (const name of Object.keys(ref.embeddings).sort()) {
      const img = await decodeRGB(path.join(FIX, 'images', name));
      const ds = db.prepare(`INSERT INTO datasets (name, kind, classes, created_at) VALUES (?, 'folder', '["x"]', ?)`).run(name, nowIso());
      const datasetId = Number(ds.lastInsertRowid);
      db.prepare(`INSERT INTO samples (dataset_id, idx, split, label, source, width, height, pixels) VALUES (?, 0, 'train', 0, ?, ?, ?, ?)`).run(
        datasetId, name, img.width, img.height, Buffer.from(img.data),
      );
      const setId = createEmbeddingSet(db, { datasetId, backboneId: backbone.id, preset: 'dinov2-eval' });
      const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', preprocessing: 'graph', loadImage: async () => img });
      expect(s).toMatchObject({ status: 'done', done: 1, preprocessing: 'graph' });
      expect(getSet(db, setId).preprocessing).toBe('graph');
      const v = [...vectors(db, setId).values()][0]!;
      const c = cosine(v, ref.embeddings[name]!);
      report.push(`${name} ${c.toFixed(7)} (1 - cosine ${(1 - c).toExponential(2)})`);
      // Measured: 1 - cosine 3e-13 to 2.1e-10 (float32 rounding; the largest on the 640x480 image).
      expect(1 - c, name).toBeLessThan(1e-8);
    }
    console.log(report.join('\n'));
    db.close();
  }, 60_000);
});

describe('createEmbedder with graphPreprocess', () => {
  it('takes uint8 pixels and returns token 0 of last_hidden_state, computed inside the graph', async () => {
    const file = write('tokens.onnx', tokensModel(8));
    const e = await createEmbedder(row({ file, outputName: 'last_hidden_state', outputKind: 'cls' }), {
      provider: 'cpu', modelsDir, graphPreprocess: { preset: 'resize-224', width: 4, height: 4 },
    });
    expect([e.preprocessing, e.inputLength, e.notices]).toEqual(['graph', 48, []]);
    const imgs = [0, 1].map((k) => ({ data: new Uint8Array(48).map((_, i) => (i * 37 + k * 101) & 255), width: 4, height: 4 }));
    const batch = e.allocate(2);
    expect(batch).toBeInstanceOf(Uint8Array);
    imgs.forEach((img, i) => e.prepare(img, 'resize-224', batch, i * 48));
    const out = await e.embed(batch, 2);
    // Token 0 is pixel (0, 0) of the 8x8 model input: what the JS pipeline computes there.
    for (let i = 0; i < 2; i++) {
      const t = preprocessTo(imgs[i]!, 'resize-224', 8);
      for (let c = 0; c < 3; c++) expect(out[i * 3 + c]).toBeCloseTo(t[c * 64]!, 5);
    }
    expect(() => e.prepare({ data: new Uint8Array(75), width: 5, height: 5 }, 'resize-224', e.allocate(1), 0)).toThrow(/5x5.*4x4/);
    await e.close();
  });

  it('feeds float16 backbones through a cast inside the graph and returns float32', async () => {
    const file = write('f16.onnx', f16Model(8));
    const e = await createEmbedder(row({ file, precision: 'float16' }), { provider: 'cpu', modelsDir, graphPreprocess: { preset: 'resize-224', width: 8, height: 8 } });
    expect(e.preprocessing).toBe('graph');
    const img = { data: new Uint8Array(192).map((_, i) => (i * 11) & 255), width: 8, height: 8 };
    const batch = e.allocate(1);
    e.prepare(img, 'resize-224', batch, 0);
    const out = await e.embed(batch, 1);
    expect(out).toBeInstanceOf(Float32Array);
    const t = preprocessTo(img, 'resize-224', 8);
    for (let c = 0; c < 3; c++) {
      const mean = t.subarray(c * 64, (c + 1) * 64).reduce((a, b) => a + b, 0) / 64;
      expect(out[c]).toBeCloseTo(mean, 2);
    }
    await e.close();
  });

  it('keeps the provider and preprocesses in JS when the provider refuses the spliced model', async () => {
    // A value named like one of the preprocessing graph's makes the spliced model invalid (a duplicate
    // definition), while the model itself is fine.
    const clash = encodeModel({
      inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, 8, 8] }],
      outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT, shape: ['batch', 3] }],
      nodes: [
        { op: 'Relu', inputs: ['pixel_values'], outputs: ['dinolab/pre/float'] },
        { op: 'ReduceMean', inputs: ['dinolab/pre/float'], outputs: ['pooler_output'], attrs: { axes: { ints: [2, 3] }, keepdims: { i: 0 } } },
      ],
    });
    const e = await createEmbedder(row({ file: write('clash.onnx', clash) }), { provider: 'cpu', modelsDir, graphPreprocess: { preset: 'resize-224', width: 8, height: 8 } });
    expect([e.provider, e.preprocessing]).toEqual(['cpu', 'js']);
    expect(e.notices).toHaveLength(1);
    expect(e.notices[0]).toMatch(/^preprocessing in JS: cpu could not run the model with preprocessing inside \(.+\)$/);
    const batch = e.allocate(1);
    e.prepare({ data: new Uint8Array(192).fill(128), width: 8, height: 8 }, 'resize-224', batch, 0);
    const out = await e.embed(batch, 1);
    expect(out[0]).toBeCloseTo((128 / 255 - 0.485) / 0.229, 4);
    await e.close();
  });

  it('falls back to JS preprocessing, with a notice, for a model that cannot be fused', async () => {
    const old = encodeModel({
      opset: 7,
      inputs: [{ name: 'pixel_values', type: OnnxType.FLOAT, shape: ['batch', 3, 8, 8] }],
      outputs: [{ name: 'pooler_output', type: OnnxType.FLOAT, shape: ['batch', 3, 8, 8] }],
      nodes: [{ op: 'Relu', inputs: ['pixel_values'], outputs: ['pooler_output'] }],
    });
    const e = await createEmbedder(row({ file: write('old.onnx', old) }), { provider: 'cpu', modelsDir, graphPreprocess: { preset: 'resize-224', width: 8, height: 8 } });
    expect(e.preprocessing).toBe('js');
    expect(e.notices).toEqual(['preprocessing in JS: the model uses operator set 7; in-graph preprocessing needs 9 or later']);
    expect(e.allocate(1)).toBeInstanceOf(Float32Array);
    await e.close();
  });
});

describe('runEmbeddingSet preprocessing modes', () => {
  async function setup(n: number): Promise<{ db: Db; datasetId: number; backboneId: number }> {
    const db = openDatabase(path.join(dir, `modes-${Math.random().toString(36).slice(2)}.db`));
    const datasetId = insertPixelDataset(db, 'pix', n);
    const backboneId = (await addBackboneFile(db, write(`tiny-${n}.onnx`, tinyBackbone({ dim: 8 })))).id;
    return { db, datasetId, backboneId };
  }

  it('auto uses the graph for a one-size dataset, and its vectors match the JS preprocessing', async () => {
    const { db, datasetId, backboneId } = await setup(12);
    const a = createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' });
    const b = createEmbeddingSet(db, { datasetId, backboneId, preset: 'dinov2-eval' });
    const sa = await runEmbeddingSet(db, a, { modelsDir, provider: 'cpu', batchSize: 5, loadImage: pixelLoader(db) });
    expect(sa.preprocessing).toBe('graph');
    // The same set again with JS preprocessing, then with the graph, for a side-by-side comparison.
    db.prepare('DELETE FROM embeddings WHERE set_id = ?').run(a);
    const sj = await runEmbeddingSet(db, a, { modelsDir, provider: 'cpu', batchSize: 5, preprocessing: 'js', loadImage: pixelLoader(db) });
    expect(sj.preprocessing).toBe('js');
    const js = vectors(db, a);
    db.prepare('DELETE FROM embeddings WHERE set_id = ?').run(a);
    await runEmbeddingSet(db, a, { modelsDir, provider: 'cpu', batchSize: 5, preprocessing: 'graph', loadImage: pixelLoader(db) });
    const graph = vectors(db, a);
    expect(graph.size).toBe(12);
    for (const [id, v] of graph) expect(cosine(v, js.get(id)!), `sample ${id}`).toBeGreaterThan(0.9999);
    const sb = await runEmbeddingSet(db, b, { modelsDir, provider: 'cpu', loadImage: pixelLoader(db) });
    expect([sb.preprocessing, getSet(db, b).preprocessing]).toEqual(['graph', 'graph']);
    db.close();
  });

  it('a resumed set keeps the preprocessing it started with', async () => {
    const { db, datasetId, backboneId } = await setup(20);
    const setId = createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' });
    const ac = new AbortController();
    await expect(
      runEmbeddingSet(db, setId, {
        modelsDir, provider: 'cpu', batchSize: 4, preprocessing: 'js', signal: ac.signal, loadImage: pixelLoader(db),
        onProgress: (p) => { if (p.done >= 4) ac.abort(); },
      }),
    ).rejects.toMatchObject({ code: 'cancelled' });
    expect(getSet(db, setId)).toMatchObject({ status: 'partial', preprocessing: 'js' });
    const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 4, loadImage: pixelLoader(db) });
    expect(s).toMatchObject({ status: 'done', done: 20, preprocessing: 'js' });
    db.close();
  });

  it('a set with vectors from before the mode was recorded resumes in JS', async () => {
    const { db, datasetId, backboneId } = await setup(10);
    const setId = createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' });
    await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 5, preprocessing: 'js', loadImage: pixelLoader(db) });
    db.prepare('UPDATE embedding_sets SET preprocessing = NULL WHERE id = ?').run(setId);
    db.prepare('DELETE FROM embeddings WHERE sample_id IN (SELECT id FROM samples WHERE idx >= 5)').run();
    const s = await runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', batchSize: 5, loadImage: pixelLoader(db) });
    expect(s).toMatchObject({ status: 'done', done: 10, computed: 5, preprocessing: 'js' });
    db.close();
  });

  it('graph on a dataset of several image sizes is refused; auto uses JS there', async () => {
    const { db, datasetId, backboneId } = await setup(6);
    db.prepare('UPDATE samples SET width = 64, height = 48 WHERE id = (SELECT MIN(id) FROM samples WHERE dataset_id = ?)').run(datasetId);
    const setId = createEmbeddingSet(db, { datasetId, backboneId, preset: 'resize-224' });
    await expect(runEmbeddingSet(db, setId, { modelsDir, provider: 'cpu', preprocessing: 'graph', loadImage: pixelLoader(db) })).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/one size.*several sizes/),
    });
    expect(db.prepare('SELECT COUNT(*) FROM embeddings').pluck().get()).toBe(0);
    db.close();
  });
});
