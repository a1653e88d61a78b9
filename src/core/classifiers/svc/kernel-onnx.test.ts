import { describe, expect, it } from 'vitest';
import { BlockWorker, rbfOnnx } from './kernel-onnx';

describe('rbfOnnx', () => {
  it('computes exp(-gamma |a - b|^2) through onnxruntime (not the JS fallback)', async () => {
    const A = { rows: 3, cols: 4, data: Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)) };
    const B = { rows: 2, cols: 4, data: Float32Array.from({ length: 8 }, (_, i) => Math.cos(i)) };
    const sq = (m: typeof A): Float64Array => Float64Array.from({ length: m.rows }, (_, i) => m.data.subarray(i * 4, i * 4 + 4).reduce((s, v) => s + v * v, 0));
    const gamma = 0.3;
    const K = await rbfOnnx(A, sq(A), B, sq(B), gamma);
    expect(K).not.toBeNull();
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 2; j++) {
        let d = 0;
        for (let k = 0; k < 4; k++) d += (A.data[i * 4 + k]! - B.data[j * 4 + k]!) ** 2;
        expect(K![i * 2 + j]).toBeCloseTo(Math.exp(-gamma * d), 6);
      }
    }
  });

  it('the block worker writes K(rowsA, rowsB) and its transpose into shared memory', async () => {
    const n = 5;
    const d = 3;
    const X = { rows: n, cols: d, data: Float32Array.from({ length: n * d }, (_, i) => Math.sin(i * 0.7)) };
    const sq = Float64Array.from({ length: n }, (_, i) => X.data.subarray(i * d, i * d + d).reduce((s, v) => s + v * v, 0));
    const gamma = 0.5;
    const K = new Float32Array(new SharedArrayBuffer(4 * 2 * n * n));
    const bw = await BlockWorker.start(X, sq, gamma, K);
    expect(bw).not.toBeNull();
    const rowsA = Int32Array.of(0, 3);
    const rowsB = Int32Array.of(1, 2, 4);
    await bw!.product(rowsA, rowsB, 0, n * n);
    await bw!.close();
    const k = (i: number, j: number): number => {
      let s = 0;
      for (let c = 0; c < d; c++) s += (X.data[i * d + c]! - X.data[j * d + c]!) ** 2;
      return Math.exp(-gamma * s);
    };
    rowsA.forEach((a, r) =>
      rowsB.forEach((b, c) => {
        expect(K[r * rowsB.length + c]).toBeCloseTo(k(a, b), 6);
        expect(K[n * n + c * rowsA.length + r]).toBeCloseTo(k(a, b), 6);
      }),
    );
  });
});
