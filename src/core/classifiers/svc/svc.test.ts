import fs from 'node:fs';
import { roundTripModel } from '../model-codec';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LabError } from '../../errors';
import { scaleGamma } from './kernel-rbf';
import type { SvcParams } from './params';
import { SVC, SVC_TUNING } from './svc';
import { SolveWorker } from './svc-worker';
import type { Matrix } from '../../math/matrix';

// Reference numbers: scikit-learn 1.2.1 SVC() (libsvm), produced by testdata/gen_svc_reference.py
// (run `/usr/bin/python3 src/core/classifiers/svc/testdata/gen_svc_reference.py`). The JSON files hold the
// feature matrices too, so both sides see the same float32 values. The CIFAR rows are the raw pixels of
// the fixture ../shared/fixtures/cifar/cifar-10-python.tar.gz, exported by that script with python's
// tarfile + pickle so this test does not depend on the project's own pickle reader.
interface Reference {
  dim: number;
  num_classes: number;
  train_x_f32?: string;
  train_x_u8?: string;
  test_x_f32?: string;
  test_x_u8?: string;
  train_y: number[];
  test_y: number[];
  sklearn: {
    gamma: number;
    n_support: number[];
    decision_ovo: number[][];
    predict: number[];
    test_accuracy: number;
    predict_proba: number[][];
  };
}

const DEFAULTS: SvcParams = { C: 1, gamma: 'scale', tol: 1e-3, cacheMb: 512, shrinking: true, probability: true, maxIter: -1 };

function loadRef(name: string): { ref: Reference; train: Matrix; test: Matrix; ytr: Int32Array; yte: Int32Array } {
  const ref = JSON.parse(fs.readFileSync(path.join(path.dirname(fileURLToPath(import.meta.url)), 'testdata', `svc-${name}.json`), 'utf8')) as Reference;
  const features = (f32?: string, u8?: string): Float32Array => {
    if (f32) {
      const b = Buffer.from(f32, 'base64');
      const a = new Float32Array(b.byteLength / 4);
      new Uint8Array(a.buffer).set(b);
      return a;
    }
    // float32(pixel / 255), as numpy computes it in the script.
    return Float32Array.from(Buffer.from(u8!, 'base64'), (v) => v / 255);
  };
  return {
    ref,
    train: { rows: ref.train_y.length, cols: ref.dim, data: features(ref.train_x_f32, ref.train_x_u8) },
    test: { rows: ref.test_y.length, cols: ref.dim, data: features(ref.test_x_f32, ref.test_x_u8) },
    ytr: Int32Array.from(ref.train_y),
    yte: Int32Array.from(ref.test_y),
  };
}

function accuracy(pred: Int32Array, y: Int32Array): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) if (pred[i] === y[i]) ok++;
  return ok / y.length;
}

async function checkAgainstSklearn(name: string, params: SvcParams): Promise<SVC> {
  const { ref, train, test, ytr, yte } = loadRef(name);
  const svc = new SVC(params, { numClasses: ref.num_classes, seed: 0 });
  await svc.fit(train, ytr);
  expect(svc.gamma).toBeCloseTo(ref.sklearn.gamma, 12);
  // Support vectors: per class exactly scikit-learn's n_support_ (same solver, same stopping rule).
  expect(svc.nSupport).toEqual(ref.sklearn.n_support);
  // One-vs-one decision values (libsvm pair order) against decision_function(ovo), value by value: the
  // largest absolute difference measured is 2.1e-4 (float32 kernels vs libsvm's float64), asserted below 1e-3.
  const dec = svc.decisionFunction(test);
  const refDec = ref.sklearn.decision_ovo;
  expect([dec.rows, dec.cols]).toEqual([refDec.length, refDec[0]!.length]);
  let maxDiff = 0;
  refDec.forEach((row, i) => row.forEach((v, j) => (maxDiff = Math.max(maxDiff, Math.abs(dec.data[i * dec.cols + j]! - v)))));
  console.log(`svc ${name} (cacheMb ${params.cacheMb}, shrinking ${params.shrinking}): n_support ${svc.nSupport.join(',')}; max |decision - sklearn| ${maxDiff.toExponential(2)}`);
  expect(maxDiff).toBeLessThan(1e-3);
  // Predictions: scikit-learn's, test point by test point.
  const pred = await svc.predict(test);
  expect(Array.from(pred)).toEqual(ref.sklearn.predict);
  expect(accuracy(pred, yte)).toBeCloseTo(ref.sklearn.test_accuracy, 12);
  return svc;
}

describe('SVC against scikit-learn SVC()', () => {
  it('matches on seeded Gaussian blobs (2,000 x 64, 4 classes), with probabilities', async () => {
    const svc = await checkAgainstSklearn('blobs', DEFAULTS);
    const { ref, test } = loadRef('blobs');
    const proba = await svc.predictProba(test);
    const pred = await svc.predict(test);
    let meanAbs = 0;
    let argmaxAgree = 0;
    for (let i = 0; i < test.rows; i++) {
      let s = 0;
      let best = 0;
      for (let c = 0; c < 4; c++) {
        const p = proba.data[i * 4 + c]!;
        s += p;
        meanAbs += Math.abs(p - ref.sklearn.predict_proba[i]![c]!);
        if (p > proba.data[i * 4 + best]!) best = c;
      }
      expect(s).toBeCloseTo(1, 5);
      if (best === pred[i]) argmaxAgree++;
    }
    // Platt folds are seeded differently from scikit-learn's, so probabilities agree only closely.
    console.log(`svc blobs probabilities: mean |p - sklearn| ${(meanAbs / (test.rows * 4)).toExponential(2)}, argmax = predict on ${argmaxAgree} of ${test.rows}`);
    // Measured: mean |p - sklearn| 1.2e-3 and argmax = predict on all 500 points.
    expect(meanAbs / (test.rows * 4)).toBeLessThan(3e-3);
    expect(argmaxAgree / test.rows).toBeGreaterThanOrEqual(0.99);
  });

  it('matches with the on-demand kernel row cache (pair matrix larger than cacheMb)', async () => {
    // 1 MB cannot hold a 1,000 x 1,000 pair matrix: rows are computed on demand, shrinking swaps the cache.
    await checkAgainstSklearn('blobs', { ...DEFAULTS, cacheMb: 1, probability: false });
  });

  it('matches without shrinking', async () => {
    await checkAgainstSklearn('blobs', { ...DEFAULTS, shrinking: false, probability: false });
  });

  it('matches on raw pixels of the fixture CIFAR-10 archive (3,072 dims, 10 classes)', async () => {
    const svc = await checkAgainstSklearn('cifar', { ...DEFAULTS, probability: false });
    const { ref, test } = loadRef('cifar');
    expect(Array.from(await svc.predict(test))).toEqual(ref.sklearn.predict);
  });

  it("computes gamma='scale' as 1 / (D * Var(X)) over all entries", () => {
    const { ref, train } = loadRef('cifar');
    expect(scaleGamma(train)).toBeCloseTo(ref.sklearn.gamma, 13);
    expect(scaleGamma({ rows: 2, cols: 2, data: new Float32Array(4).fill(3) })).toBe(1);
  });
});

describe('SVC on problems with known solutions', () => {
  // Two points at distance 1, gamma 0.5: k = K(x0, x1) = exp(-0.5). The dual optimum is
  // alpha = min(C, 1 / (1 - k)) on both points, rho = 0, f(z) = alpha (K(z, x1) - K(z, x0)) in
  // scikit-learn's binary sign convention (positive = class 1).
  const X: Matrix = { rows: 2, cols: 2, data: Float32Array.of(0, 0, 1, 0) };
  const y = Int32Array.of(0, 1);
  const k = Math.exp(-0.5);
  const probe: Matrix = { rows: 4, cols: 2, data: Float32Array.of(0, 0, 1, 0, 0.5, 0, 0.3, 2) };
  const f = (alpha: number, zx: number, zy: number): number =>
    alpha * (Math.exp(-0.5 * ((zx - 1) ** 2 + zy ** 2)) - Math.exp(-0.5 * (zx ** 2 + zy ** 2)));

  it('free support vectors: margin +-1 at the points (C = 10)', async () => {
    const svc = new SVC({ ...DEFAULTS, C: 10, gamma: 0.5, probability: false }, { numClasses: 2, seed: 0 });
    await svc.fit(X, y);
    expect(svc.nSupport).toEqual([1, 1]);
    const a = 1 / (1 - k);
    const dec = svc.decisionFunction(probe);
    expect(dec.cols).toBe(1);
    expect(dec.data[0]).toBeCloseTo(-1, 5);
    expect(dec.data[1]).toBeCloseTo(1, 5);
    expect(dec.data[2]).toBeCloseTo(0, 6);
    expect(dec.data[3]).toBeCloseTo(f(a, 0.3, 2), 5);
    expect(Array.from(await svc.predict(X))).toEqual([0, 1]);
    expect(dec.data[3]).toBeLessThan(0); // nearer x0 than x1
  });

  it('bounded support vectors: alpha = C and rho from the bounds midpoint (C = 1)', async () => {
    const svc = new SVC({ ...DEFAULTS, C: 1, gamma: 0.5, probability: false }, { numClasses: 2, seed: 0 });
    await svc.fit(X, y);
    const dec = svc.decisionFunction(probe);
    expect(dec.data[1]).toBeCloseTo(1 - k, 5);
    expect(dec.data[0]).toBeCloseTo(-(1 - k), 5);
    expect(dec.data[3]).toBeCloseTo(f(1, 0.3, 2), 5);
  });

  it('mirror-symmetric data gives an odd decision function (rho = 0)', async () => {
    const pts = [-3, -2, -1.5, -0.4, 0.4, 1.5, 2, 3];
    const Xs: Matrix = { rows: 8, cols: 1, data: Float32Array.from(pts) };
    const ys = Int32Array.of(0, 0, 0, 1, 0, 1, 1, 1);
    const svc = new SVC({ ...DEFAULTS, gamma: 0.5, probability: false }, { numClasses: 2, seed: 0 });
    await svc.fit(Xs, ys);
    const z = [0, 0.7, 1.1, 2.5];
    const dec = svc.decisionFunction({ rows: 8, cols: 1, data: Float32Array.from([...z, ...z.map((v) => -v)]) });
    for (let i = 0; i < 4; i++) expect(dec.data[i]!).toBeCloseTo(-dec.data[i + 4]!, 5);
    expect(dec.data[0]).toBeCloseTo(0, 6);
    expect(svc.nSupport[0]).toBe(svc.nSupport[1]);
  });

  it('classes absent from the labels get no votes and probability 0', async () => {
    const Xs: Matrix = { rows: 4, cols: 1, data: Float32Array.of(0, 0.2, 5, 5.2) };
    const svc = new SVC({ ...DEFAULTS, gamma: 1, probability: false }, { numClasses: 3, seed: 0 });
    await svc.fit(Xs, Int32Array.of(0, 0, 2, 2));
    expect(Array.from(await svc.predict(Xs))).toEqual([0, 0, 2, 2]);
    const p = await svc.predictProba(Xs);
    expect(p.cols).toBe(3);
    expect(p.data[1]).toBe(0);
    expect(svc.nSupport[1]).toBe(0);
  });
});

describe('SVC save/load, progress, cancel and errors', () => {
  it('a saved model reloads and predicts identically', async () => {
    const { train, test, ytr } = loadRef('blobs');
    const svc = new SVC(DEFAULTS, { numClasses: 4, seed: 3 });
    await svc.fit(train, ytr);
    const saved = roundTripModel(svc.toJSON()) as ReturnType<SVC['toJSON']>;
    expect(saved.kind).toBe('svc');
    const back = SVC.load(saved);
    expect(Array.from(await back.predict(test))).toEqual(Array.from(await svc.predict(test)));
    expect(Array.from((await back.predictProba(test)).data)).toEqual(Array.from((await svc.predictProba(test)).data));
    expect(Array.from(back.decisionFunction(test).data)).toEqual(Array.from(svc.decisionFunction(test).data));
    expect(back.nSupport).toEqual(svc.nSupport);
    expect(() => SVC.load({ ...saved, kind: 'mlp' })).toThrow(LabError);
  });

  it('reports progress per class pair and honours an AbortSignal', async () => {
    const { train, ytr } = loadRef('blobs');
    const calls: [number, number, string][] = [];
    const svc = new SVC({ ...DEFAULTS, probability: false }, { numClasses: 4, seed: 0 });
    await svc.fit(train, ytr, { onProgress: (d, t, phase) => calls.push([d, t, phase]) });
    expect(calls.at(-1)).toEqual([6, 6, 'class pair 2/3']);
    expect(calls.filter((c) => /^class pair \d/.test(c[2])).map((c) => c[2])).toEqual([
      'class pair 0/1',
      'class pair 0/2',
      'class pair 0/3',
      'class pair 1/2',
      'class pair 1/3',
      'class pair 2/3',
    ]);

    const ac = new AbortController();
    const run = new SVC(DEFAULTS, { numClasses: 4, seed: 0 }).fit(train, ytr, {
      signal: ac.signal,
      onProgress: (d) => {
        if (d === 1) ac.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ code: 'cancelled', message: 'Cancelled.' });

    // Aborted from a timer while the solver runs (it yields to the event loop between chunks).
    const ac2 = new AbortController();
    setTimeout(() => ac2.abort(), 5);
    await expect(new SVC({ ...DEFAULTS, cacheMb: 1 }, { numClasses: 4, seed: 0 }).fit(train, ytr, { signal: ac2.signal })).rejects.toMatchObject({
      code: 'cancelled',
    });
  });

  it('solves class pairs in parallel (SMO worker) with results identical to one thread', async () => {
    const probe = await SolveWorker.start(new Float32Array(new SharedArrayBuffer(16)));
    expect(probe).not.toBeNull(); // the worker reproduced this thread's solution on its self-test
    probe?.close();
    const { train, test, ytr } = loadRef('blobs');
    const saved = { ...SVC_TUNING };
    try {
      SVC_TUNING.threads = 1;
      const serial = new SVC(DEFAULTS, { numClasses: 4, seed: 5 });
      await serial.fit(train, ytr);
      SVC_TUNING.threads = 2;
      SVC_TUNING.parallelMinEntries = 0;
      const parallel = new SVC(DEFAULTS, { numClasses: 4, seed: 5 });
      const calls: string[] = [];
      await parallel.fit(train, ytr, { onProgress: (_d, _t, phase) => calls.push(phase) });
      expect(calls.slice(1)).toEqual(['class pair 0/1', 'class pair 0/2', 'class pair 0/3', 'class pair 1/2', 'class pair 1/3', 'class pair 2/3']);
      expect(parallel.toJSON()).toEqual(serial.toJSON());
      expect(Array.from((await parallel.predictProba(test)).data)).toEqual(Array.from((await serial.predictProba(test)).data));
      // Cancel while both threads solve.
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 5);
      await expect(new SVC(DEFAULTS, { numClasses: 4, seed: 0 }).fit(train, ytr, { signal: ac.signal })).rejects.toMatchObject({ code: 'cancelled' });
    } finally {
      Object.assign(SVC_TUNING, saved);
    }
  });

  it('keeps the precomputed kernel blocks within cacheMb (class blocks evicted and recomputed) with results identical to an unbounded fit', async () => {
    const { train, test, ytr } = loadRef('blobs');
    const counts = [0, 0, 0, 0];
    for (const c of ytr) counts[c]!++;
    const n = Math.max(...counts);
    // Room for exactly four slots of the largest class's block (n^2 floats): one pair at a time (its two
    // class blocks, its cross block and the transpose); the unbounded plan (512 MB) holds all four class
    // blocks and two cross slots (eight slots: twice this budget, what the fit took before the budget).
    const slotBytes = n * n * 4;
    const fourSlots = (4.5 * slotBytes) / 2 ** 20;
    const saved = { ...SVC_TUNING };
    try {
      SVC_TUNING.threads = 1;
      const unbounded = new SVC(DEFAULTS, { numClasses: 4, seed: 3 });
      await unbounded.fit(train, ytr);
      expect(unbounded.kernelMemory).toMatchObject({ precomputedPairs: 6, onDemandPairs: 0, classBlocks: 4, evictions: 0, slots: 8 });
      const want = unbounded.toJSON();
      const wantDec = Array.from(unbounded.decisionFunction(test).data);
      const wantProba = Array.from((await unbounded.predictProba(test)).data);
      for (const [threads, mb, slots] of [
        [1, fourSlots, 4],
        // Two solver lanes and the block worker with five slots: a lane waits for the other's slots.
        [2, (5.5 * slotBytes) / 2 ** 20, 5],
      ] as const) {
        SVC_TUNING.threads = threads;
        SVC_TUNING.parallelMinEntries = 0;
        const bounded = new SVC({ ...DEFAULTS, cacheMb: mb }, { numClasses: 4, seed: 3 });
        await bounded.fit(train, ytr);
        const u = bounded.kernelMemory!;
        expect(u).toMatchObject({ precomputedPairs: 6, onDemandPairs: 0, slots });
        expect(u.blockFloats * 4).toBeLessThanOrEqual(mb * 2 ** 20);
        expect(u.blockFloats).toBe(slots * n * n);
        expect(u.evictions).toBeGreaterThan(0);
        // Class blocks recomputed after eviction (each recompute follows an eviction).
        expect(u.classBlocks).toBeGreaterThan(4);
        expect(u.classBlocks).toBeLessThanOrEqual(4 + u.evictions);
        expect(u.crossBlocks).toBe(6);
        // Five slots hold one pair at a time: its solves are spread over both threads.
        expect(bounded.backend).toBe(threads === 2 ? 'js, 2 solver threads (one pair at a time)' : 'js');
        console.log(`svc kernel budget ${mb.toFixed(2)} MB, ${threads} thread(s): ${JSON.stringify(u)}`);
        const got = bounded.toJSON();
        expect({ ...got, params: want.params }).toEqual(want);
        expect(Array.from(bounded.decisionFunction(test).data)).toEqual(wantDec);
        expect(Array.from((await bounded.predictProba(test)).data)).toEqual(wantProba);
      }
    } finally {
      Object.assign(SVC_TUNING, saved);
    }
  });

  it('rejects bad input with actionable errors', async () => {
    const X: Matrix = { rows: 3, cols: 1, data: Float32Array.of(0, 1, 2) };
    const svc = new SVC(DEFAULTS, { numClasses: 2, seed: 0 });
    await expect(svc.predict(X)).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(svc.fit(X, Int32Array.of(0, 1, 2))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(svc.fit(X, Int32Array.of(1, 1, 1))).rejects.toMatchObject({ code: 'invalid_input' });
    await expect(svc.fit(X, Int32Array.of(0, 1))).rejects.toMatchObject({ code: 'invalid_input' });
    await svc.fit(X, Int32Array.of(0, 1, 1));
    await expect(svc.predict({ rows: 1, cols: 2, data: new Float32Array(2) })).rejects.toMatchObject({ code: 'invalid_input' });
    expect(() => new SVC({ ...DEFAULTS, C: 0 }, { numClasses: 2, seed: 0 })).toThrow(LabError);
  });
});
