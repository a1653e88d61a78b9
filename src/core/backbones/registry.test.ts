import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database';
import { CATALOG, catalogEntry } from './catalog';
import { addBackboneFile, ensureBuiltinBackbones, getBackbone, listBackbones } from './registry';
import { tinyBackbone } from './tiny-models';

const MODEL = path.resolve(process.cwd(), '../shared/fixtures/models/dinov2-vits14-random.onnx');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-registry-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('backbone registry', () => {
  const db = openDatabase(path.join(dir, 'lab.db'));

  it('adds an ONNX file with its sha256, size, dims and precision', async () => {
    const row = await addBackboneFile(db, MODEL, 'vits14');
    expect(row).toMatchObject({
      name: 'vits14',
      kind: 'onnx',
      file: MODEL,
      sha256: '5ca0f17b593b309a7c1ff00e237db404e6848ddad55159055d4c489b1a37a680',
      sizeBytes: fs.statSync(MODEL).size,
      inputName: 'pixel_values',
      outputName: 'pooler_output',
      outputKind: 'pooler',
      dim: 384,
      precision: 'float32',
      imageSize: 224,
    });
    expect(getBackbone(db, row.id)).toEqual(row);
    // Adding the same file again is refused with the backbone it already is.
    await expect(addBackboneFile(db, MODEL)).rejects.toMatchObject({ code: 'conflict', message: `This model is already added, as backbone "vits14" (#${row.id}).` });
    expect((await addBackboneFile(db, MODEL, undefined, { reuse: true })).id).toBe(row.id);
  });

  it('refuses a name already taken and defaults the name to the file name', async () => {
    const f = path.join(dir, 'tiny.onnx');
    fs.writeFileSync(f, tinyBackbone());
    await expect(addBackboneFile(db, f, 'vits14')).rejects.toMatchObject({ code: 'conflict' });
    const row = await addBackboneFile(db, f);
    expect(row.name).toBe('tiny');
    expect(row.dim).toBe(8);
  });

  it('inserts the built-in baselines once', () => {
    ensureBuiltinBackbones(db, path.join(dir, 'models'));
    ensureBuiltinBackbones(db, path.join(dir, 'models'));
    const all = listBackbones(db);
    const raw = all.filter((b) => b.name === 'raw-pixels');
    const rv = all.filter((b) => b.name === 'random-vit-s14');
    expect(raw).toHaveLength(1);
    expect(rv).toHaveLength(1);
    expect(raw[0]).toMatchObject({ kind: 'raw-pixels', dim: 3072, imageSize: 32 });
    expect(rv[0]).toMatchObject({ kind: 'random-vit', dim: 384, imageSize: 224, outputName: 'pooler_output' });
    expect(all.map((b) => b.kind).slice(0, 2).sort()).toEqual(['random-vit', 'raw-pixels']);
  });

  it('reports unknown ids as not_found', () => {
    expect(() => getBackbone(db, 9999)).toThrow(/does not exist/);
  });
});

describe('catalog', () => {
  it('lists the four onnx-community DINOv2 exports with URLs and dims', () => {
    expect(CATALOG.map((c) => [c.id, c.dim])).toEqual([
      ['dinov2-small', 384],
      ['dinov2-base', 768],
      ['dinov2-large', 1024],
      ['dinov2-giant', 1536],
    ]);
    const small = catalogEntry('dinov2-small')!;
    expect(small.files.map((f) => f.url)).toEqual([
      'https://huggingface.co/onnx-community/dinov2-small/resolve/8b1f705a3a7f6f062f6bdd21986c1583d3ef105d/onnx/model.onnx',
      'https://huggingface.co/onnx-community/dinov2-small/resolve/8b1f705a3a7f6f062f6bdd21986c1583d3ef105d/onnx/model_fp16.onnx',
    ]);
    expect(small.files.map((f) => f.approxBytes)).toEqual([88.5e6, 44.4e6]);
    expect(catalogEntry('dinov2-huge')).toBeUndefined();
  });
});
