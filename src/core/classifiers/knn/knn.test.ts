import { describe, expect, it } from 'vitest';
import { roundTripModel } from '../model-codec';
import { KnnClassifier } from './knn';
import type { Matrix } from '../../math/matrix';

const m = (rows: number[][]): Matrix => ({ rows: rows.length, cols: rows[0]!.length, data: Float32Array.from(rows.flat()) });

describe('weighted k-NN (DINO eval_knn)', () => {
  // Training points on the unit circle (norms differ to check the L2 normalisation) at 0, 30, 90, 180 degrees.
  const train = m([
    [2, 0],
    [Math.cos(Math.PI / 6) * 5, Math.sin(Math.PI / 6) * 5],
    [0, 0.5],
    [-3, 0],
  ]);
  const y = Int32Array.from([0, 1, 1, 2]);

  it('votes with exp(cos / T) over the top-k and normalises to probabilities', async () => {
    const clf = new KnnClassifier({ k: 2, temperature: 0.5 }, { numClasses: 3 });
    await clf.fit(train, y);
    // Query at 10 degrees: nearest are 0 deg (cos 10deg) and 30 deg (cos 20deg).
    const q = m([[Math.cos(Math.PI / 18), Math.sin(Math.PI / 18)]]);
    const w0 = Math.exp(Math.cos(Math.PI / 18) / 0.5);
    const w1 = Math.exp(Math.cos(Math.PI / 9) / 0.5);
    const P = await clf.predictProba(q);
    expect(P.data[0]).toBeCloseTo(w0 / (w0 + w1), 5);
    expect(P.data[1]).toBeCloseTo(w1 / (w0 + w1), 5);
    expect(P.data[2]).toBe(0);
    const nb = await clf.nearestNeighbors(q, 3);
    expect(Array.from(nb.indices)).toEqual([0, 1, 2]);
    expect(nb.similarities[2]).toBeCloseTo(Math.cos((80 * Math.PI) / 180), 5);
  });

  it('two close neighbours of one class outvote a single closer one', async () => {
    const clf = new KnnClassifier({ k: 3, temperature: 1 }, { numClasses: 3 });
    await clf.fit(train, y);
    const pred = await clf.predict(m([[Math.cos(0.2), Math.sin(0.2)]]));
    expect(pred[0]).toBe(1);
    const sharp = new KnnClassifier({ k: 3, temperature: 0.01 }, { numClasses: 3 });
    await sharp.fit(train, y);
    expect((await sharp.predict(m([[Math.cos(0.2), Math.sin(0.2)]])))[0]).toBe(0);
  });

  it('saves and reloads', async () => {
    const clf = new KnnClassifier({ k: 2, temperature: 0.07 }, { numClasses: 3 });
    await clf.fit(train, y);
    const q = m([[0.1, 1], [-1, 0.05], [1, 0.1]]);
    const again = KnnClassifier.load(roundTripModel(clf.toJSON()));
    expect(Array.from(await again.predict(q))).toEqual([1, 2, 0]);
  });

  it('leave-one-out: a training row never votes for itself (duplicates at other indices still do)', async () => {
    const clf = new KnnClassifier({ k: 2, temperature: 0.5 }, { numClasses: 3 });
    await clf.fit(train, y);
    const nb = await clf.trainingNeighbors(Int32Array.from([0, 3]), 2);
    // Row 0 (0 deg): nearest others are 30 deg (row 1) and 90 deg (row 2); row 3 (180 deg): 90 deg, then 30 deg.
    expect(Array.from(nb.indices)).toEqual([1, 2, 2, 1]);
    // Every row's own-label vote is removed: row 0 (class 0) is now outvoted by class 1.
    expect(Array.from(await clf.predictTrainingRows(Int32Array.from([0, 1, 2, 3])))).toEqual([1, 0, 1, 1]);
    const dup = new KnnClassifier({ k: 1, temperature: 0.5 }, { numClasses: 3 });
    await dup.fit(m([[1, 0], [1, 0], [0, 1]]), Int32Array.from([2, 2, 1]));
    expect(Array.from((await dup.trainingNeighbors(Int32Array.from([0, 1]), 1)).indices)).toEqual([1, 0]);
  });

  it('blocks of similarities with a streaming top-k equal a brute-force top-k (5,000 queries, several blocks)', async () => {
    const rnd = (n: number, seed: number): Float32Array => {
      let s = seed;
      return Float32Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) % 2147483648), s / 2147483648 - 0.5));
    };
    const n = 4000;
    const d = 8;
    const X = { rows: n, cols: d, data: rnd(n * d, 1) };
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    const clf = new KnnClassifier({ k: 5, temperature: 0.07 }, { numClasses: 3 });
    await clf.fit(X, labels);
    const q = { rows: 5000, cols: d, data: rnd(5000 * d, 2) };
    const nb = await clf.nearestNeighbors(q, 5);
    const norm = (v: Float32Array): Float64Array => {
      const nn = Math.hypot(...v) || 1;
      return Float64Array.from(v, (x) => x / nn);
    };
    const T = Array.from({ length: n }, (_, j) => norm(X.data.subarray(j * d, (j + 1) * d)));
    for (const i of [0, 1, 4095, 4096, 4097, 4999]) {
      const qi = norm(q.data.subarray(i * d, (i + 1) * d));
      const sims = T.map((t, j) => ({ j, s: t.reduce((a, x, c) => a + x * qi[c]!, 0) }));
      sims.sort((a, b) => b.s - a.s || a.j - b.j);
      const got = Array.from(nb.indices.subarray(i * 5, i * 5 + 5));
      // float32 products: neighbours whose similarities tie within 1e-6 may swap; compare similarities then.
      sims.slice(0, 5).forEach((e, r) => expect(nb.similarities[i * 5 + r]!).toBeCloseTo(e.s, 5));
      expect(new Set(got).size).toBe(5);
    }
    expect(clf.backend).toMatch(/^(onnxruntime-cpu|wasm|cpu|tensorflow)/);
  });
});
