import { describe, expect, it } from 'vitest';
import { rbfOnnx } from './kernel-onnx';

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
});
