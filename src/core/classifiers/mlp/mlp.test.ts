import { describe, expect, it } from 'vitest';
import { defaultParams } from '../params-helpers';
import { mlp as mlpSpec } from './index';
import { MlpClassifier } from './mlp';
import type { Matrix } from '../../math/matrix';
import { Prng } from '../../math/prng';
import { b64ToF32 } from '../types';

/**
 * Independent float64 reference of two full-batch training steps of the PyTorch recipe: nn.Linear init
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn as W1, b1, W2, b2 from Prng(seed); mean cross-entropy;
 * torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8).
 */
function reference(X: number[][], y: number[], H: number, C: number, seed: number, lr: number, steps: number): number[] {
  const D = X[0]!.length;
  const rng = new Prng(seed);
  const draw = (n: number, fanIn: number): number[] => Array.from({ length: n }, () => (rng.next() * 2 - 1) / Math.sqrt(fanIn));
  const theta = [...draw(D * H, D), ...draw(H, D), ...draw(H * C, H), ...draw(C, H)].map((v) => Math.fround(v));
  const m = new Array<number>(theta.length).fill(0);
  const v = new Array<number>(theta.length).fill(0);
  const [oW1, ob1, oW2, ob2] = [0, D * H, D * H + H, D * H + H + H * C];
  for (let t = 1; t <= steps; t++) {
    const g = new Array<number>(theta.length).fill(0);
    for (let i = 0; i < X.length; i++) {
      const z1 = Array.from({ length: H }, (_, k) => theta[ob1 + k]! + X[i]!.reduce((s, x, j) => s + x * theta[oW1 + j * H + k]!, 0));
      const a1 = z1.map((z) => Math.max(0, z));
      const z2 = Array.from({ length: C }, (_, c) => theta[ob2 + c]! + a1.reduce((s, a, k) => s + a * theta[oW2 + k * C + c]!, 0));
      const mx = Math.max(...z2);
      const e = z2.map((z) => Math.exp(z - mx));
      const se = e.reduce((a, b) => a + b, 0);
      const dz2 = e.map((ev, c) => (ev / se - (c === y[i] ? 1 : 0)) / X.length);
      for (let c = 0; c < C; c++) {
        g[ob2 + c]! += dz2[c]!;
        for (let k = 0; k < H; k++) g[oW2 + k * C + c]! += a1[k]! * dz2[c]!;
      }
      for (let k = 0; k < H; k++) {
        if (z1[k]! <= 0) continue;
        const da = dz2.reduce((s, d, c) => s + d * theta[oW2 + k * C + c]!, 0);
        g[ob1 + k]! += da;
        for (let j = 0; j < D; j++) g[oW1 + j * H + k]! += X[i]![j]! * da;
      }
    }
    const bc1 = 1 - 0.9 ** t;
    const bc2 = 1 - 0.999 ** t;
    for (let p = 0; p < theta.length; p++) {
      m[p] = 0.9 * m[p]! + 0.1 * g[p]!;
      v[p] = 0.999 * v[p]! + 0.001 * g[p]! * g[p]!;
      theta[p] = theta[p]! - (lr / bc1) * (m[p]! / (Math.sqrt(v[p]!) / Math.sqrt(bc2) + 1e-8));
    }
  }
  return theta;
}

describe('mlp (the study\'s PyTorch recipe)', () => {
  const Xr = [
    [0.5, -1.2, 0.3],
    [1.5, 0.2, -0.7],
    [-0.4, 0.9, 1.1],
    [0.1, 0.1, -1.9],
    [-1.3, -0.5, 0.6],
    [0.8, 1.7, 0.2],
  ];
  const yr = [0, 1, 2, 1, 0, 2];
  const X: Matrix = { rows: 6, cols: 3, data: Float32Array.from(Xr.flat()) };
  const y = Int32Array.from(yr);

  /** Runs fn with the mlp forced onto TensorFlow.js (as when onnxruntime-node cannot load) or left on its default. */
  async function onEngine<T>(engine: 'onnx' | 'tfjs', fn: () => Promise<T>): Promise<T> {
    const prev = process.env.DINOLAB_MLP_ENGINE;
    if (engine === 'tfjs') process.env.DINOLAB_MLP_ENGINE = 'tfjs';
    else delete process.env.DINOLAB_MLP_ENGINE;
    try {
      return await fn();
    } finally {
      if (prev === undefined) delete process.env.DINOLAB_MLP_ENGINE;
      else process.env.DINOLAB_MLP_ENGINE = prev;
    }
  }

  // Both engines run the same float32 recipe; each must match the float64 reference to 2e-6.
  it.each(['onnx', 'tfjs'] as const)('init and two Adam steps equal a float64 reference of PyTorch Linear/CrossEntropy/Adam (%s)', async (engine) => {
    const params = { ...defaultParams(mlpSpec), hidden: 5, epochs: 2, batchSize: 6, validationFraction: 0, lr: 0.01 };
    const clf = new MlpClassifier(params, { numClasses: 3, seed: 42 });
    await onEngine(engine, () => clf.fit(X, y));
    expect(clf.engine).toMatch(engine === 'onnx' ? /^onnxruntime-cpu$/ : /^tfjs-/);
    const theta = b64ToF32(clf.toJSON().state.theta as string);
    const ref = reference(Xr, yr, 5, 3, 42, 0.01, 2);
    expect(theta.length).toBe(ref.length);
    for (let i = 0; i < ref.length; i++) expect(Math.abs(theta[i]! - ref[i]!)).toBeLessThan(2e-6);
  });

  it('is deterministic for a seed, agrees across engines (partial last batch), and predicts the same after save/load', async () => {
    // 40 rows of 3 features, batch 16 (a partial batch of 8 each epoch), 10 % held out for validation.
    const rng = new Prng(7);
    const n = 40;
    const Xb: Matrix = { rows: n, cols: 3, data: Float32Array.from({ length: n * 3 }, () => rng.next() * 4 - 2) };
    const yb = Int32Array.from({ length: n }, (_, i) => i % 3);
    const params = { ...defaultParams(mlpSpec), hidden: 16, epochs: 4, batchSize: 16, lr: 0.01 };
    const fitOn = async (engine: 'onnx' | 'tfjs'): Promise<MlpClassifier> => {
      const c = new MlpClassifier(params, { numClasses: 3, seed: 5 });
      await onEngine(engine, () => c.fit(Xb, yb));
      return c;
    };
    const a = await fitOn('onnx');
    const b = await fitOn('onnx');
    const t = await fitOn('tfjs');
    const ta = b64ToF32(a.toJSON().state.theta as string);
    expect(b64ToF32(b.toJSON().state.theta as string)).toEqual(ta);
    expect(t.bestEpoch).toBe(a.bestEpoch);
    // float32 sums in another order: the engines differ by rounding only.
    const tt = b64ToF32(t.toJSON().state.theta as string);
    for (let i = 0; i < ta.length; i++) expect(Math.abs(ta[i]! - tt[i]!)).toBeLessThan(1e-5);
    const loaded = MlpClassifier.load(JSON.parse(JSON.stringify(a.toJSON())));
    expect(await loaded.predict(Xb)).toEqual(await a.predict(Xb));
    expect((await loaded.predictProba(Xb)).data).toEqual((await a.predictProba(Xb)).data);
  });

  it('keeps the best epoch on the validation data and logs every epoch', async () => {
    const logs: { epoch: number; val_accuracy?: number; loss?: number }[] = [];
    const clf = new MlpClassifier({ ...defaultParams(mlpSpec), hidden: 8, epochs: 6, batchSize: 2 }, { numClasses: 3, seed: 1 });
    await clf.fit(X, y, { validation: { X, y }, onEpoch: (e) => logs.push(e) });
    expect(logs.map((l) => l.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    const best = Math.max(...logs.map((l) => l.val_accuracy!));
    expect(logs[clf.bestEpoch - 1]!.val_accuracy).toBe(best);
    expect(logs.findIndex((l) => l.val_accuracy === best)).toBe(clf.bestEpoch - 1);
    const pred = await clf.predict(X);
    expect(pred.filter((p, i) => p === y[i]).length / 6).toBeCloseTo(best, 12);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    ac.abort();
    const clf = new MlpClassifier(defaultParams(mlpSpec), { numClasses: 3, seed: 1 });
    await expect(clf.fit(X, y, { signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});
