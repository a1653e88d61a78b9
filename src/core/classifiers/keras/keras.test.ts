import { describe, expect, it } from 'vitest';
import { roundTripModel } from '../model-codec';
import { defaultParams } from '../params-helpers';
import { keras as kerasSpec } from './index';
import { KerasClassifier } from './keras';
import type { Matrix } from '../../math/matrix';
import { Prng } from '../../math/prng';

function blobs(n: number, seed: number): { X: Matrix; y: Int32Array } {
  const rng = new Prng(seed);
  const D = 8;
  const X = new Float32Array(n * D);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 3;
    for (let j = 0; j < D; j++) X[i * D + j] = (j === y[i] ? 3 : 0) + rng.normal();
  }
  return { X: { rows: n, cols: D, data: X }, y };
}

describe('keras (tfjs layers Sequential)', () => {
  it('fits with Keras-style epoch logs, is repeatable for a seed, and reloads', async () => {
    const { X, y } = blobs(150, 1);
    const params = { ...defaultParams(kerasSpec), hidden: 16, epochs: 4, lr: 0.01 };
    const logs: Record<string, number | undefined>[] = [];
    const a = new KerasClassifier(params, { numClasses: 3, seed: 5 });
    await a.fit(X, y, { onEpoch: (e) => logs.push(e) });
    expect(logs.length).toBe(4);
    for (const l of logs) for (const k of ['loss', 'accuracy', 'val_loss', 'val_accuracy']) expect(Number.isFinite(l[k])).toBe(true);
    expect(logs[3]!.loss!).toBeLessThan(logs[0]!.loss!);
    const b = new KerasClassifier(params, { numClasses: 3, seed: 5 });
    await b.fit(X, y);
    const pa = await a.predictProba(X);
    const pb = await b.predictProba(X);
    expect(Array.from(pb.data)).toEqual(Array.from(pa.data));
    const again = KerasClassifier.load(roundTripModel(a.toJSON()));
    expect(Array.from(await again.predict(X))).toEqual(Array.from(await a.predict(X)));
    const acc = (await a.predict(X)).filter((p, i) => p === y[i]).length / 150;
    expect(acc).toBeGreaterThan(0.9);
  });
});
