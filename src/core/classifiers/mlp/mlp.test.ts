import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultParams } from '../params-helpers';
import { mlp as mlpSpec } from './index';
import { MlpClassifier } from './mlp';
import { OnnxMlpTrainer } from './mlp-onnx';
import { adamChunkFloats, threadChoices } from './mlp-onnx-options';
import { TfjsMlpTrainer } from './mlp-tfjs';
import type { AdamConfig, MlpEngine, TrainerOptions } from './engine';
import { denseReference, onEngine } from './test-support';
import { initTf } from '../tf-backend';
import type { Matrix } from '../../math/matrix';
import { Prng, permutation } from '../../math/prng';
import { roundTripModel } from '../model-codec';
import { stateF32 } from '../types';

/**
 * Independent float64 reference of two full-batch training steps of the PyTorch recipe: nn.Linear init
 * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) drawn as W1, b1, W2, b2 from Prng(seed); mean cross-entropy;
 * torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8).
 */
function reference(X: number[][], y: number[], H: number, C: number, seed: number, lr: number, steps: number): number[] {
  const D = X[0]!.length;
  const rng = new Prng(seed);
  const draw = (n: number, fanIn: number): number[] => Array.from({ length: n }, () => (rng.next() * 2 - 1) / Math.sqrt(fanIn));
  const theta0 = [...draw(D * H, D), ...draw(H, D), ...draw(H * C, H), ...draw(C, H)].map((v) => Math.fround(v));
  const everyRow = X.map((_, i) => i);
  return denseReference(X, y, H, C, theta0, Array.from({ length: steps }, () => everyRow), { lr, b1: 0.9, b2: 0.999, eps: 1e-8 }).theta;
}

describe('mlp training engines against a float64 reference, gradient scale included', () => {
  // Adam with b1 = 0 and eps = 1e3 (far above sqrt(v) ~ |g|) steps by (lr / eps) g to within |g| / eps ~ 1e-4
  // relative: plain SGD with rate 0.5. Unlike default Adam (nearly invariant to the gradient's scale, per
  // coordinate), the weights then move with the gradient's size, so a wrongly scaled gradient (a wrong
  // 1 / batch size on the partial batch, a missing factor in a layer) fails here.
  const sgdLike: AdamConfig = { lr: 500, b1: 0, b2: 0.999, eps: 1e3 };
  const rng = new Prng(11);
  const D = 4;
  const H = 6;
  const C = 3;
  const N = 7;
  const B = 3; // batches of 3, 3 and a partial 1 in every epoch
  const Xr = Array.from({ length: N }, () => Array.from({ length: D }, () => rng.next() * 4 - 2));
  const yr = Array.from({ length: N }, (_, i) => i % C);
  const X: Matrix = { rows: N, cols: D, data: Float32Array.from(Xr.flat()) };
  const y = Int32Array.from(yr);
  const theta0 = Float32Array.from({ length: (D + 1) * H + (H + 1) * C }, () => (rng.next() * 2 - 1) * 0.8);
  const perms = [
    [3, 0, 6, 1, 5, 2, 4],
    [6, 5, 4, 3, 2, 1, 0],
    [1, 3, 5, 0, 2, 4, 6],
  ];
  const batches = perms.flatMap((p) => [p.slice(0, 3), p.slice(3, 6), p.slice(6)]);

  const engines: [string, (adam: AdamConfig) => Promise<MlpEngine | null>][] = [
    ['onnx', (adam) => OnnxMlpTrainer.create(X, y, H, C, B, adam, theta0.subarray(0, (D + 1) * H), theta0.subarray((D + 1) * H))],
    // Layer 1 in five one-row chunks: the chunked forward (a sum of per-chunk products) and per-chunk Adam.
    ['onnx, layer 1 in row chunks', (adam) => OnnxMlpTrainer.create(X, y, H, C, B, adam, theta0.subarray(0, (D + 1) * H), theta0.subarray((D + 1) * H), { chunkFloats: H })],
    [
      'tfjs',
      async (adam) => {
        const { tf, backend } = await initTf();
        return new TfjsMlpTrainer(tf, backend, X, y, H, C, B, adam, theta0.subarray(0, (D + 1) * H), theta0.subarray((D + 1) * H));
      },
    ],
  ];

  it.each(engines)('%s: nine mini-batch steps (three epochs, partial last batch) give the reference log-probabilities and weights', async (name, make) => {
    const ref = denseReference(Xr, yr, H, C, theta0, batches, sgdLike);
    // The steps really move the weights by the gradient (not a test of nothing): about 0.1 per weight on average.
    const moved = ref.theta.reduce((acc, t, i) => acc + Math.abs(t - theta0[i]!), 0) / ref.theta.length;
    expect(moved).toBeGreaterThan(0.05);
    const engine = await make(sgdLike);
    expect(engine, `${name} engine starts`).not.toBeNull();
    try {
      let maxLp = 0;
      let row = 0;
      for (const p of perms) {
        const lp = await engine!.epoch(Int32Array.from(p));
        for (let i = 0; i < N; i++, row++) for (let c = 0; c < C; c++) maxLp = Math.max(maxLp, Math.abs(lp[i * C + c]! - ref.logProbs[row]![c]!));
      }
      const w = engine!.weights();
      const theta = [...w[0]!, ...w[1]!];
      expect(theta.length).toBe(ref.theta.length);
      const maxW = Math.max(...theta.map((t, i) => Math.abs(t - ref.theta[i]!)));
      console.log(`mlp ${name}: max |log-prob - reference| ${maxLp.toExponential(2)}, max |weight - reference| ${maxW.toExponential(2)} (mean move ${moved.toFixed(3)})`);
      expect(maxLp).toBeLessThan(3e-6);
      expect(maxW).toBeLessThan(1e-6);
    } finally {
      await engine!.dispose();
    }
  });

  it.each(engines)('%s: proba (the per-epoch validation pass) gives the float64 softmax of the current weights', async (name, make) => {
    const engine = await make(sgdLike);
    expect(engine, `${name} engine starts`).not.toBeNull();
    try {
      // After a few steps (weights differ from theta0: the pass must read the current ones, not the initial).
      for (const p of perms) await engine!.epoch(Int32Array.from(p));
      const [w1, w2] = engine!.weights() as [Float32Array, Float32Array];
      const P = await engine!.proba(X);
      expect([P.rows, P.cols]).toEqual([N, C]);
      let maxDiff = 0;
      let moved = 0;
      for (let i = 0; i < N; i++) {
        // [W1; b1] and [W2; b2]: bias rows last.
        const a1 = Array.from({ length: H }, (_, k) => Math.max(0, w1[D * H + k]! + Xr[i]!.reduce((acc, x, j) => acc + x * w1[j * H + k]!, 0)));
        const z2 = Array.from({ length: C }, (_, c) => w2[H * C + c]! + a1.reduce((acc, a, k) => acc + a * w2[k * C + c]!, 0));
        const mx = Math.max(...z2);
        const e = z2.map((z) => Math.exp(z - mx));
        const se = e.reduce((a, b) => a + b, 0);
        for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(P.data[i * C + c]! - e[c]! / se));
        // The same rows under the initial weights give other probabilities (so the check can fail).
        const a0 = Array.from({ length: H }, (_, k) => Math.max(0, theta0[D * H + k]! + Xr[i]!.reduce((acc, x, j) => acc + x * theta0[j * H + k]!, 0)));
        const z0 = Array.from({ length: C }, (_, c) => theta0[(D + 1) * H + H * C + c]! + a0.reduce((acc, a, k) => acc + a * theta0[(D + 1) * H + k * C + c]!, 0));
        const m0 = Math.max(...z0);
        const s0 = z0.reduce((acc, z) => acc + Math.exp(z - m0), 0);
        moved = Math.max(moved, Math.abs(P.data[i * C]! - Math.exp(z0[0]! - m0) / s0));
      }
      console.log(`mlp ${name} proba: max |p - float64 reference| ${maxDiff.toExponential(2)} (vs initial weights ${moved.toFixed(3)})`);
      expect(moved).toBeGreaterThan(0.01);
      expect(maxDiff).toBeLessThan(1e-6);
    } finally {
      await engine!.dispose();
    }
  });
});

describe('onnxruntime engine: layer 1 state in row chunks (large inputs)', () => {
  // At 3,072 inputs the mlp keeps W1 and its Adam moments in row chunks (Adam runs in cache) and computes
  // X W1 as a sum of per-chunk products (no copy of W1 a step). Adam is element-wise, and MLAS sums a product
  // over K in blocks of 128 rows, so with chunks of whole 128-row blocks (what adamChunkFloats gives) the
  // chunked graphs give the very bits of the unchunked ones; other chunk sizes sum in another order (the
  // float64 reference test above runs one-row chunks).
  it.each([
    ['mlp', undefined],
    ['keras clip', 1e-7],
  ] as const)('%s: chunks of 128 rows give bit-identical log-probabilities and weights over 3 epochs', async (_name, clip) => {
    const rng = new Prng(3);
    const D = 300;
    const H = 256; // MLAS's K stride is 128 rows for 128 or more columns (it grows for fewer)
    const C = 3;
    const N = 23;
    const X: Matrix = { rows: N, cols: D, data: Float32Array.from({ length: N * D }, () => rng.next() * 4 - 2) };
    const y = Int32Array.from({ length: N }, (_, i) => i % C);
    const theta0 = Float32Array.from({ length: (D + 1) * H + (H + 1) * C }, () => (rng.next() * 2 - 1) * 0.1);
    const adam: AdamConfig = { lr: 0.01, b1: 0.9, b2: 0.999, eps: 1e-8 };
    const run = async (chunkFloats: number): Promise<{ lps: Float32Array[]; w: Float32Array[] }> => {
      // B = 5: 4 full batches per epoch through the Loop graph, a partial one of 3 through the one-step graph.
      const e = await OnnxMlpTrainer.create(X, y, H, C, 5, adam, theta0.subarray(0, (D + 1) * H), theta0.subarray((D + 1) * H), { clip, chunkFloats, threads: 1 });
      expect(e).not.toBeNull();
      const lps: Float32Array[] = [];
      const shuffle = new Prng(9);
      for (let ep = 0; ep < 3; ep++) lps.push(await e!.epoch(permutation(N, shuffle)));
      const w = e!.weights().map((t) => Float32Array.from(t));
      await e!.dispose();
      return { lps, w };
    };
    const whole = await run(1 << 30);
    const chunked = await run(128 * H); // chunks of 128, 128 and 45 rows
    const odd = await run(50 * H); // chunks of 50 rows: another summation order
    expect(chunked.w[0]!.length).toBe((D + 1) * H);
    expect(chunked.w).toEqual(whole.w);
    expect(chunked.lps).toEqual(whole.lps);
    // the comparison can tell summation orders apart: 50-row chunks end in other bits (Adam, which divides
    // by sqrt(v), carries a last-bit difference of a small gradient up to lr-sized steps)
    expect(odd.w[0]!.some((v, i) => v !== whole.w[0]![i])).toBe(true);
    // and it trained: the weights moved
    expect(whole.w[0]!.some((v, i) => v !== theta0[i])).toBe(true);
  });
});

describe('onnxruntime engine: thread count', () => {
  // The trainer runs each batch of steps on 1 thread or on every core, whichever it measures faster, so a
  // run's numbers must not depend on the thread count or on the chunking that goes with it: MLAS splits
  // products over rows and columns, never over the reduction, element-wise ops are exact, and chunks are
  // whole 128-row blocks. 901 x 256 floats in layer 1: above onnxruntime's threshold for splitting an
  // element-wise op over threads.
  const rng = new Prng(21);
  const D = 900;
  const H = 256;
  const C = 10;
  const N = 64 * 64 * 3 + 17; // three Loop runs of 64 steps and a partial batch, an epoch
  const X: Matrix = { rows: N, cols: D, data: Float32Array.from({ length: N * D }, () => rng.next() - 0.5) };
  const y = Int32Array.from({ length: N }, (_, i) => i % C);
  const theta0 = Float32Array.from({ length: (D + 1) * H + (H + 1) * C }, () => (rng.next() - 0.5) * 0.1);
  const perm = permutation(N, new Prng(4));
  const adam: AdamConfig = { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 };
  const train = async (options: TrainerOptions, epochs = 1): Promise<{ w: Float32Array[]; use: string }> => {
    const e = await OnnxMlpTrainer.create(X, y, H, C, 64, adam, theta0.subarray(0, (D + 1) * H), theta0.subarray((D + 1) * H), options);
    expect(e).not.toBeNull();
    for (let ep = 0; ep < epochs; ep++) await e!.epoch(perm);
    const w = e!.weights().map((t) => Float32Array.from(t));
    const use = e!.threadUse();
    await e!.dispose();
    return { w, use };
  };
  let reference: Float32Array[] | null = null;
  /** One thread with its chunking, two epochs: what every other way must give. */
  const oneThread = async (): Promise<Float32Array[]> => (reference ??= (await train({ threads: 1, chunkFloats: adamChunkFloats(1, H) }, 2)).w);

  it('two intra-op threads give the same bits as one, with each thread count\'s chunking and unchunked', async () => {
    const reference = await oneThread();
    expect(reference[0]!.some((v, i) => v !== theta0[i])).toBe(true);
    expect((await train({ threads: 2, chunkFloats: adamChunkFloats(2, H) }, 2)).w).toEqual(reference);
    expect((await train({ threads: 2, chunkFloats: 1 << 30 }, 2)).w).toEqual(reference);
    expect((await train({ threads: 1, chunkFloats: 1 << 30 }, 2)).w).toEqual(reference);
  });

  it.skipIf(os.availableParallelism() < 2)('by default measures 1 thread and every core, runs both, and trains to the same bits (needs 2 cores)', async () => {
    expect(threadChoices(D, H)).toEqual([1, Math.min(4, os.availableParallelism())]);
    const { w, use } = await train({}, 2);
    // each choice ran at least its warm-up and one measured run of 64 steps
    expect(use).toMatch(/^1 thread: ([2-9]|\d\d) runs, [\d.]+ ms a step; \d threads: ([2-9]|\d\d) runs, [\d.]+ ms a step$/);
    expect(w).toEqual(await oneThread());
  });

  it('keeps only the last way to run the steps where the ways would not give the same bits (checked on one step)', async () => {
    // 50-row chunks sum X W1 in another order than 128-row ones (see the chunking test): they disagree.
    const ways = [
      { threads: 1, chunkFloats: 128 * H },
      { threads: 2, chunkFloats: 50 * H },
    ];
    const mixed = await train({ variants: ways }, 2);
    expect(mixed.use).toMatch(/^2 threads: \d+ runs/);
    expect(mixed.w).toEqual((await train({ threads: 2, chunkFloats: 50 * H }, 2)).w);
    // ways that agree are both kept and used
    const agreeing = await train({ variants: [ways[0]!, { threads: 2, chunkFloats: 256 * H }] }, 2);
    expect(agreeing.use).toMatch(/^1 thread: \d+ runs, [\d.]+ ms a step; 2 threads: \d+ runs/);
    expect(agreeing.w).toEqual(await oneThread());
  });
});

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

  // Both engines run the same float32 recipe; each must match the float64 reference to 2e-6.
  it.each(['onnx', 'tfjs'] as const)('init and two Adam steps equal a float64 reference of PyTorch Linear/CrossEntropy/Adam (%s)', async (engine) => {
    const params = { ...defaultParams(mlpSpec), hidden: 5, epochs: 2, batchSize: 6, validationFraction: 0, lr: 0.01 };
    const clf = new MlpClassifier(params, { numClasses: 3, seed: 42 });
    await onEngine(engine, () => clf.fit(X, y));
    expect(clf.engine).toMatch(engine === 'onnx' ? /^onnxruntime-cpu$/ : /^tfjs-/);
    const theta = stateF32(clf.toJSON().state.theta);
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
    const ta = stateF32(a.toJSON().state.theta);
    expect(stateF32(b.toJSON().state.theta)).toEqual(ta);
    expect(t.bestEpoch).toBe(a.bestEpoch);
    // float32 sums in another order: the engines differ by rounding only.
    const tt = stateF32(t.toJSON().state.theta);
    for (let i = 0; i < ta.length; i++) expect(Math.abs(ta[i]! - tt[i]!)).toBeLessThan(1e-5);
    const loaded = MlpClassifier.load(roundTripModel(a.toJSON()));
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

describe('onnxruntime engine: subnormals flushed to zero (set_denormal_as_zero)', () => {
  // Once keras's problem is solved, Adam's first moments decay into float32's subnormal range and stick there,
  // where each operation takes a slow path (keras at 50,000 x 3,072: epochs from 4.4 s to 27-34 s from epoch 18).
  // onnxruntime applies the flag to the calling thread only from the first session of a process (a job
  // process, where the trainer's sessions are the first), so this runs in a fresh process: weights of 1e-40
  // whose gradient is exactly zero (all-zero inputs) stay 1e-40 without the flag and come out 0 with it.
  it('a weight of 1e-40 with zero gradient is flushed to 0 by one epoch, in a fresh process', () => {
    const mod = new URL('./mlp-onnx.ts', import.meta.url).pathname;
    const code = `
      import { OnnxMlpTrainer } from ${JSON.stringify(mod)};
      const D = 3, H = 2, C = 2, N = 4;
      const X = { rows: N, cols: D, data: new Float32Array(N * D) };
      const w1 = new Float32Array((D + 1) * H).fill(1e-40);
      w1.fill(0.5, D * H);
      const w2 = Float32Array.from({ length: (H + 1) * C }, (_, i) => (i % 3) * 0.25 - 0.2);
      const e = await OnnxMlpTrainer.create(X, Int32Array.of(0, 1, 0, 1), H, C, 2, { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 }, w1, w2);
      await e.epoch(Int32Array.of(0, 1, 2, 3));
      console.log(JSON.stringify(Array.from(e.weights()[0].subarray(0, D * H))));
      await e.dispose();`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { encoding: 'utf8', timeout: 60_000 });
    const w = JSON.parse(out.trim().split('\n').pop()!) as number[];
    expect(w).toHaveLength(6);
    expect(w).toEqual([0, 0, 0, 0, 0, 0]);
  });
});
