/**
 * A k-NN run's test evaluation searches the neighbours of the test split once (probabilities and labels
 * from one pass; it used to search twice, a third of a sweep's k-NN time), with the same labels as
 * predict() gives. Real SQLite file, real classifier; the spy only counts calls.
 */
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { KnnClassifier } from '../classifiers/knn/knn';
import { openDatabase } from '../db/database';
import { loadSetData } from '../embeddings/queries';
import { getRun } from './queries';
import { insertBlobEmbeddingSet } from './test-helpers';
import { createRun, executeRun } from './train-run';

const t = tempDir('dinolab-knn-pass-');
afterAll(() => t.cleanup());

describe('k-NN run evaluation', () => {
  it('searches the test split once and stores the labels predict() gives', async () => {
    const db = openDatabase(path.join(t.dir, 'lab.db'));
    try {
      const { setId } = insertBlobEmbeddingSet(db, { numClasses: 3, dim: 8, trainPerClass: 40, testPerClass: 20, separation: 0.8, seed: 2, name: 'B' });
      const spy = vi.spyOn(KnnClassifier.prototype, 'nearestNeighbors');
      const runId = createRun(db, { setId, kind: 'knn', params: { k: 5 } });
      const r = await executeRun(db, runId);
      const testRows = 60;
      expect(spy.mock.calls.filter((c) => c[0].rows === testRows)).toHaveLength(1);
      spy.mockRestore();
      const data = loadSetData(db, setId);
      const clf = new KnnClassifier({ k: 5, temperature: 0.07 }, { numClasses: 3 });
      await clf.fit(data.train.X, data.train.y);
      const labels = await clf.predict(data.test.X);
      let correct = 0;
      labels.forEach((l, i) => (correct += l === data.test.y[i] ? 1 : 0));
      expect(r.test!.accuracy).toBeCloseTo(correct / testRows, 12);
      expect(getRun(db, runId).status).toBe('done');
    } finally {
      db.close();
    }
  });
});
