import { describe, expect, it } from 'vitest';
import { roundTripModel } from '../model-codec';
import { defaultParams } from '../params-helpers';
import { keras as kerasSpec } from './index';
import { KerasClassifier } from './keras';
import { takeLabels, takeRows, type Matrix } from '../../math/matrix';
import { Prng, permutation } from '../../math/prng';
import { initTf } from '../tf-backend';
import type { AdamConfig, MlpEngine } from '../mlp/engine';
import { OnnxMlpTrainer } from '../mlp/mlp-onnx';
import { TfjsMlpTrainer } from '../mlp/mlp-tfjs';
import { denseReference, onEngine } from '../mlp/test-support';

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

describe("keras on the dense-net engines: tfjs layers' Adam and clipped cross-entropy against a float64 reference", () => {
  // As in mlp.test.ts: b1 = 0 and eps far above sqrt(v) make Adam step by (lr / eps) g, so the weights move
  // with the gradient's size and a wrongly scaled or wrongly kept row's gradient shows.
  const sgdLike: AdamConfig = { lr: 100, b1: 0, b2: 0.999, eps: 1e3 };
  const clip = 1e-7;
  const rng = new Prng(21);
  const D = 4;
  const H = 6;
  const C = 3;
  const N = 7;
  const B = 3;
  const Xr = Array.from({ length: N }, () => Array.from({ length: D }, () => rng.next() * 4 - 2));
  // Row 6 is far out, so the net starts out sure of a class: its label is the least likely one, p_y < 1e-7,
  // which Keras's clip stops from passing any gradient.
  Xr[6] = [20, -20, 20, -20];
  const theta0 = Float32Array.from({ length: (D + 1) * H + (H + 1) * C }, () => (rng.next() * 2 - 1) * 0.8);
  const yr = Array.from({ length: N }, (_, i) => i % C);
  const first = denseReference(Xr, yr, H, C, theta0, [[6]], sgdLike, null).logProbs[0]!;
  yr[6] = first.indexOf(Math.min(...first));
  const X: Matrix = { rows: N, cols: D, data: Float32Array.from(Xr.flat()) };
  const y = Int32Array.from(yr);
  const perms = [
    [3, 0, 6, 1, 5, 2, 4],
    [6, 5, 4, 3, 2, 1, 0],
    [1, 3, 5, 0, 2, 4, 6],
  ];
  const batches = perms.flatMap((p) => [p.slice(0, 3), p.slice(3, 6), p.slice(6)]);
  const w1 = theta0.subarray(0, (D + 1) * H);
  const w2 = theta0.subarray((D + 1) * H);
  const engines: [string, () => Promise<MlpEngine | null>][] = [
    ['onnx', () => OnnxMlpTrainer.create(X, y, H, C, B, sgdLike, w1, w2, { clip })],
    [
      'tfjs',
      async () => {
        const { tf, backend } = await initTf();
        return new TfjsMlpTrainer(tf, backend, X, y, H, C, B, sgdLike, w1, w2, { clip });
      },
    ],
  ];

  it.each(engines)('%s: nine steps (partial last batch, a clipped row) give the reference log-probabilities and weights', async (name, make) => {
    const ref = denseReference(Xr, yr, H, C, theta0, batches, sgdLike, clip);
    // The test has teeth: row 6 is clipped in the first epochs, and without the clip the weights end elsewhere.
    expect(first[yr[6]!]!).toBeLessThan(Math.log(clip));
    expect(ref.clippedRows).toBeGreaterThanOrEqual(2);
    const unclipped = denseReference(Xr, yr, H, C, theta0, batches, sgdLike, null);
    expect(Math.max(...ref.theta.map((t, i) => Math.abs(t - unclipped.theta[i]!)))).toBeGreaterThan(0.1);
    const engine = await make();
    expect(engine, `${name} engine starts`).not.toBeNull();
    try {
      let maxLp = 0;
      let row = 0;
      for (const p of perms) {
        const lp = await engine!.epoch(Int32Array.from(p));
        for (let i = 0; i < N; i++, row++) {
          for (let c = 0; c < C; c++) {
            // The far row's log-probabilities are in the hundreds: compare them relatively.
            const r = ref.logProbs[row]![c]!;
            maxLp = Math.max(maxLp, Math.abs(lp[i * C + c]! - r) / Math.max(1, Math.abs(r)));
          }
        }
      }
      const w = engine!.weights();
      const theta = [...w[0]!, ...w[1]!];
      const maxW = Math.max(...theta.map((t, i) => Math.abs(t - ref.theta[i]!)));
      console.log(`keras ${name}: max rel |log-prob - reference| ${maxLp.toExponential(2)}, max |weight - reference| ${maxW.toExponential(2)}`);
      expect(maxLp).toBeLessThan(2e-6);
      expect(maxW).toBeLessThan(1e-6);
    } finally {
      await engine!.dispose();
    }
  });
});

describe('keras (the study\'s Keras net)', () => {
  it.each(['onnx', 'tfjs'] as const)("trains as tfjs layers' model.fit did (Glorot init, batch 32, Adam, clipped cross-entropy): same weights and epoch logs (%s)", async (engine) => {
    const { X, y } = blobs(150, 1);
    const V = blobs(60, 2);
    const params = { ...defaultParams(kerasSpec), hidden: 16, epochs: 3, lr: 0.01, validationFraction: 0 };
    const seed = 5;
    const logs: Record<string, number | undefined>[] = [];
    const clf = new KerasClassifier(params, { numClasses: 3, seed });
    await onEngine(engine, () => clf.fit(X, y, { validation: V, onEpoch: (e) => logs.push(e) }));
    expect(clf.backend).toMatch(engine === 'onnx' ? /^onnxruntime-cpu$/ : /^tfjs-/);

    // The implementation keras had before: tfjs layers Sequential + model.fit, one epoch per call on rows
    // permuted by the same seeded PRNG (shuffle off).
    const { tf } = await initTf();
    const model = tf.sequential();
    model.add(tf.layers.dense({ units: 16, activation: 'relu', inputShape: [8], kernelInitializer: tf.initializers.glorotUniform({ seed }), biasInitializer: 'zeros' }));
    model.add(tf.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 1 }), biasInitializer: 'zeros' }));
    model.compile({ optimizer: tf.train.adam(0.01), loss: 'sparseCategoricalCrossentropy', metrics: ['accuracy'] });
    const rng = new Prng(seed ^ 0x5bd1e995);
    const vx = tf.tensor2d(V.X.data, [V.X.rows, V.X.cols]);
    const vy = tf.tensor1d(Float32Array.from(V.y));
    const tfLogs: Record<string, number>[] = [];
    for (let e = 0; e < 3; e++) {
      const perm = permutation(150, rng);
      const xs = tf.tensor2d(takeRows(X, perm).data, [150, 8]);
      const ys = tf.tensor1d(Float32Array.from(takeLabels(y, perm)));
      const h = await model.fit(xs, ys, { batchSize: 32, epochs: 1, shuffle: false, verbose: 0, validationData: [vx, vy] });
      tfLogs.push(Object.fromEntries(Object.entries(h.history).map(([k, v]) => [k, Number(v[0])])));
      xs.dispose();
      ys.dispose();
    }
    const tfWeights = model.getWeights().map((w) => Array.from(w.dataSync()));
    model.dispose();
    vx.dispose();
    vy.dispose();

    const ours = (clf.toJSON().state.weights as Float32Array[]).map((w) => Array.from(w));
    expect(ours.map((w) => w.length)).toEqual(tfWeights.map((w) => w.length));
    let maxW = 0;
    ours.forEach((w, i) => w.forEach((v, j) => (maxW = Math.max(maxW, Math.abs(v - tfWeights[i]![j]!)))));
    console.log(`keras ${engine} vs tfjs model.fit: max |weight difference| ${maxW.toExponential(2)}`);
    expect(maxW).toBeLessThan(5e-6);
    expect(logs.length).toBe(3);
    logs.forEach((l, e) => {
      const t = tfLogs[e]!;
      expect(Math.abs(l.loss! - t.loss!)).toBeLessThan(1e-5);
      expect(Math.abs(l.accuracy! - (t.acc ?? t.accuracy!))).toBeLessThan(1e-6);
      expect(Math.abs(l.val_loss! - t.val_loss!)).toBeLessThan(1e-5);
      expect(Math.abs(l.val_accuracy! - (t.val_acc ?? t.val_accuracy!))).toBeLessThan(1e-6);
    });
  });

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

  it('stops on abort', async () => {
    const { X, y } = blobs(30, 1);
    const ac = new AbortController();
    ac.abort();
    const clf = new KerasClassifier(defaultParams(kerasSpec), { numClasses: 3, seed: 1 });
    await expect(clf.fit(X, y, { signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
  });
});
