import { describe, expect, it } from 'vitest';
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
    const again = KnnClassifier.load(JSON.parse(JSON.stringify(clf.toJSON())));
    expect(Array.from(await again.predict(q))).toEqual([1, 2, 0]);
  });
});
