import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database';
import { addBackboneFile } from '../backbones/registry';
import { tinyBackbone } from '../backbones/tiny-models';
import { exportEmbeddings } from './export';
import { readNpy } from './npy';
import { createEmbeddingSet, runEmbeddingSet } from './pipeline';
import { loadSetMatrix } from './queries';
import { insertPixelDataset, pixelLoader } from './testing/fixture-db';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-export-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

// Headers as NumPy 2.4 writes them, from:
// python3 -c "import numpy as np, io; b=io.BytesIO(); np.save(b, np.zeros((10,8), np.float32)); print(b.getvalue()[:128])"
// (and np.zeros((10,), np.int64)); the header is padded with spaces so the data starts at byte 128.
const F4_HEADER = "\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, 'shape': (10, 8), }" + ' '.repeat(57) + '\n';
const I8_HEADER = "\x93NUMPY\x01\x00v\x00{'descr': '<i8', 'fortran_order': False, 'shape': (10,), }" + ' '.repeat(59) + '\n';

describe('exportEmbeddings', () => {
  it('writes embeddings.npy, labels.npy and samples.csv in NumPy and CSV formats, rows aligned', async () => {
    const db = openDatabase(path.join(dir, 'lab.db'));
    const datasetId = insertPixelDataset(db, 'pix', 10, ['cat', 'dog, big', 'ship']);
    const mf = path.join(dir, 'm.onnx');
    fs.writeFileSync(mf, tinyBackbone());
    const b = await addBackboneFile(db, mf);
    const setId = createEmbeddingSet(db, { datasetId, backboneId: b.id, preset: 'resize-224' });
    await runEmbeddingSet(db, setId, { modelsDir: dir, provider: 'cpu', loadImage: pixelLoader(db) });

    const out = path.join(dir, 'out');
    const res = exportEmbeddings(db, setId, out);
    expect(res).toMatchObject({ rows: 10, dim: 8 });

    const embBytes = fs.readFileSync(path.join(out, 'embeddings.npy'));
    const labBytes = fs.readFileSync(path.join(out, 'labels.npy'));
    expect(embBytes.subarray(0, 128).toString('latin1')).toBe(F4_HEADER);
    expect(embBytes.length).toBe(128 + 10 * 8 * 4);
    expect(labBytes.subarray(0, 128).toString('latin1')).toBe(I8_HEADER);
    expect(labBytes.length).toBe(128 + 10 * 8);

    const emb = readNpy(embBytes);
    const lab = readNpy(labBytes);
    const { X, y, sampleIds } = loadSetMatrix(db, setId, 'all');
    expect(emb.shape).toEqual([10, 8]);
    expect(Array.from(emb.data as Float32Array)).toEqual(Array.from(X.data));
    expect(Array.from(lab.data as BigInt64Array, Number)).toEqual(Array.from(y));
    expect(Array.from(y)).toEqual([0, 1, 2, 0, 1, 2, 0, 1, 2, 0]);

    const lines = fs.readFileSync(path.join(out, 'samples.csv'), 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe('index,sample_id,split,label,class,source');
    expect(lines).toHaveLength(11);
    expect(lines[1]).toBe(`0,${sampleIds[0]},test,0,cat,data_batch_1#0`);
    expect(lines[2]).toBe(`1,${sampleIds[1]},train,1,"dog, big",data_batch_1#1`);
    db.close();
  });

  it('prefixes class names and sources that a spreadsheet would read as formulas (OWASP CSV injection)', async () => {
    const db = openDatabase(path.join(dir, 'inject.db'));
    const datasetId = insertPixelDataset(db, 'inject', 6, ['=HYPERLINK("http://evil.example","x")', '+1+1', '@SUM(A1)', '-2+3', '\tcmd', '-1.5']);
    db.prepare("UPDATE samples SET source = '=cmd|'' /C calc''!A0' WHERE dataset_id = ? AND idx = 0").run(datasetId);
    db.prepare("UPDATE samples SET source = '-0.25' WHERE dataset_id = ? AND idx = 1").run(datasetId);
    const mf = path.join(dir, 'm2.onnx');
    fs.writeFileSync(mf, tinyBackbone());
    const b = await addBackboneFile(db, mf);
    const setId = createEmbeddingSet(db, { datasetId, backboneId: b.id, preset: 'resize-224' });
    await runEmbeddingSet(db, setId, { modelsDir: dir, provider: 'cpu', loadImage: pixelLoader(db) });
    const out = path.join(dir, 'out-inject');
    exportEmbeddings(db, setId, out);
    const lines = fs.readFileSync(path.join(out, 'samples.csv'), 'utf8').trimEnd().split('\n');
    const cells = lines.slice(1).map((l) => l.split(',').slice(4).join(','));
    expect(cells).toEqual([
      `"'=HYPERLINK(""http://evil.example"",""x"")","'=cmd|' /C calc'!A0"`,
      `"'+1+1",-0.25`,
      `"'@SUM(A1)",data_batch_1#2`,
      `"'-2+3",data_batch_1#3`,
      `"'\tcmd",data_batch_1#4`,
      `-1.5,data_batch_1#5`,
    ]);
    db.close();
  });

  it('refuses a set with no vectors', async () => {
    const db = openDatabase(path.join(dir, 'empty.db'));
    const datasetId = insertPixelDataset(db, 'pix', 2);
    const mf = path.join(dir, 'm2.onnx');
    fs.writeFileSync(mf, tinyBackbone());
    const b = await addBackboneFile(db, mf);
    const setId = createEmbeddingSet(db, { datasetId, backboneId: b.id, preset: 'resize-224' });
    expect(() => exportEmbeddings(db, setId, path.join(dir, 'o2'))).toThrow(/no vectors yet/);
    db.close();
  });
});
