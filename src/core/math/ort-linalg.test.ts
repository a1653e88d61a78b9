/**
 * The linear algebra against plain float64 loops, on onnxruntime and on its JavaScript fallback (what runs
 * where onnxruntime-node cannot be loaded; forced here by a stand-in ../onnx/ort that loads nothing):
 * products with every transpose, and the blocked Cholesky and triangular inverse at sizes that span several
 * blocks (192 per block); then the Mahalanobis scorer built on them at 450-d against a direct float64 solve.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { ledoitWolf } from '../ood/benchmark';
import { mulberry32 } from './prng';

/** The modules under test, loaded for one engine. */
interface Mods {
  linalg: typeof import('./ort-linalg');
  ood: typeof import('../ood/benchmark');
}

const engines: ['onnxruntime-cpu' | 'js', () => Promise<Mods>][] = [
  ['onnxruntime-cpu', async () => ({ linalg: await import('./ort-linalg'), ood: await import('../ood/benchmark') })],
  [
    'js',
    async () => {
      vi.resetModules();
      vi.doMock('../onnx/ort', async (orig) => ({ ...(await orig<typeof import('../onnx/ort')>()), loadOrt: async () => null, cpuGraphSession: async () => null }));
      try {
        return { linalg: await import('./ort-linalg'), ood: await import('../ood/benchmark') };
      } finally {
        vi.doUnmock('../onnx/ort');
      }
    },
  ],
];

function rand(n: number, seed: number): Float64Array {
  const r = mulberry32(seed);
  return Float64Array.from({ length: n }, () => r() * 2 - 1);
}

function naive(A: Float64Array, ar: number, ac: number, B: Float64Array, br: number, bc: number, tA: boolean, tB: boolean): Float64Array {
  const m = tA ? ac : ar;
  const k = tA ? ar : ac;
  const n = tB ? br : bc;
  const C = new Float64Array(m * n);
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += (tA ? A[p * ac + i]! : A[i * ac + p]!) * (tB ? B[j * bc + p]! : B[p * bc + j]!);
      C[i * n + j] = s;
    }
  return C;
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

/** A random SPD matrix: G G^T / k + 0.5 I. */
function spd(D: number, seed: number): Float64Array {
  const G = rand(D * D, seed);
  const A = naive(G, D, D, G, D, D, false, true);
  for (let i = 0; i < D * D; i++) A[i]! /= D;
  for (let i = 0; i < D; i++) A[i * D + i]! += 0.5;
  return A;
}

describe.each(engines)('ort-linalg on %s', (engine, load) => {
  let mods: Mods;
  beforeAll(async () => {
    mods = await load();
  });

  it(`runs on ${engine} here`, async () => {
    expect(await mods.linalg.linalgEngine()).toBe(engine);
  });

  it.each([
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ])('gemm transA=%s transB=%s equals the float64 loops (float64 and float32)', async (tA, tB) => {
    const [m, k, n] = [37, 53, 29];
    const A = rand(m * k, 1);
    const B = rand(k * n, 2);
    const [ar, ac] = tA ? [k, m] : [m, k];
    const [br, bc] = tB ? [n, k] : [k, n];
    const want = naive(A, ar, ac, B, br, bc, tA, tB);
    expect(maxAbsDiff(await mods.linalg.gemm(A, ar, ac, B, br, bc, { transA: tA, transB: tB }), want)).toBeLessThan(1e-12);
    expect(maxAbsDiff(await mods.linalg.gemm(Float32Array.from(A), ar, ac, Float32Array.from(B), br, bc, { transA: tA, transB: tB }), want)).toBeLessThan(1e-4);
    await expect(mods.linalg.gemm(A, ar, ac, B, br + 1, bc, { transA: tA, transB: tB })).rejects.toThrow();
  });

  it('factorises an SPD matrix over several blocks (L L^T = A) and inverts its factor (W L = I)', async () => {
    const D = 450;
    const A = spd(D, 3);
    const { L, diagInv } = await mods.linalg.cholesky(A, D);
    for (let i = 0; i < D; i++) for (let j = i + 1; j < D; j++) expect(L[i * D + j]).toBe(0);
    expect(maxAbsDiff(naive(L, D, D, L, D, D, false, true), A)).toBeLessThan(1e-11);
    const W = await mods.linalg.lowerInverse(L, D, diagInv);
    const I = naive(W, D, D, L, D, D, false, false);
    for (let i = 0; i < D; i++) I[i * D + i]! -= 1;
    expect(maxAbsDiff(I, new Float64Array(D * D))).toBeLessThan(1e-10);
    // Not positive definite: refused.
    const bad = Float64Array.from(A);
    bad[300 * D + 300] = -1;
    await expect(mods.linalg.cholesky(bad, D)).rejects.toThrow(/not positive definite/);
  });

  it('scores Mahalanobis distances at 450-d as a direct float64 solve does', async () => {
    const D = 450;
    const n = 600;
    const C = 3;
    const X = Float32Array.from(rand(n * D, 4));
    const y = Int32Array.from({ length: n }, (_, i) => i % C);
    for (let i = 0; i < n; i++) X[i * D + (y[i]! % D)]! += 2; // class offsets
    const Q = Float32Array.from(rand(50 * D, 5));
    const scorer = await mods.ood.mahalanobisScorer({ rows: n, cols: D, data: X }, y);
    const got = await scorer.score({ rows: 50, cols: D, data: Q });
    // Reference: means, class-centred covariance and Ledoit-Wolf in float64, then solve Σ v = (q - mu) by
    // unblocked Cholesky and forward/back substitution.
    const mu = new Float64Array(C * D);
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) mu[y[i]! * D + j]! += X[i * D + j]! / (n / C);
    const Xc = new Float64Array(n * D);
    let sum4 = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < D; j++) s += (Xc[i * D + j] = X[i * D + j]! - mu[y[i]! * D + j]!) ** 2;
      sum4 += s * s;
    }
    const S = naive(Xc, n, D, Xc, n, D, true, false).map((v) => v / n);
    const { cov, shrinkage } = ledoitWolf(S, n, D, sum4);
    expect(Math.abs(scorer.shrinkage - shrinkage)).toBeLessThan(1e-6);
    const L = new Float64Array(D * D);
    for (let i = 0; i < D; i++)
      for (let j = 0; j <= i; j++) {
        let s = cov[i * D + j]!;
        for (let p = 0; p < j; p++) s -= L[i * D + p]! * L[j * D + p]!;
        L[i * D + j] = i === j ? Math.sqrt(s) : s / L[j * D + j]!;
      }
    for (let r = 0; r < 50; r++) {
      let best = Infinity;
      for (let c = 0; c < C; c++) {
        // d = ||L^{-1} (q - mu)||^2 by forward substitution.
        const z = new Float64Array(D);
        let d = 0;
        for (let i = 0; i < D; i++) {
          let s = Q[r * D + i]! - mu[c * D + i]!;
          for (let p = 0; p < i; p++) s -= L[i * D + p]! * z[p]!;
          z[i] = s / L[i * D + i]!;
          d += z[i]! ** 2;
        }
        best = Math.min(best, d);
      }
      expect(Math.abs(got[r]! + best)).toBeLessThan(1e-4 * best);
    }
  });
});
