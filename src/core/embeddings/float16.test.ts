import { describe, expect, it } from 'vitest';
import { f16ToF32, f32ToF16 } from './float16';

describe('float16 conversion', () => {
  it('matches IEEE 754 binary16 encodings (values from numpy.float16(x).view(np.uint16))', () => {
    // python3 -c "import numpy as np; print([hex(np.float16(x).view(np.uint16)) for x in [...]])"
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up to Inf
      [1 / 3, 0x3555],
      [0.1, 0x2e66],
      [5.960464477539063e-8, 0x0001], // smallest subnormal
      [2049, 0x6800], // tie -> even (2048)
      [2051, 0x6802], // tie -> even (2052)
      [6.1e-5, 0x03ff],
      [Infinity, 0x7c00],
    ];
    const bits = f32ToF16(Float32Array.from(cases.map((c) => c[0])));
    expect(Array.from(bits).map((b) => b.toString(16))).toEqual(cases.map((c) => c[1].toString(16)));
    expect(Number.isNaN(f16ToF32(f32ToF16(Float32Array.of(NaN)))[0])).toBe(true);
  });

  it('round-trips float16 values exactly', () => {
    const back = f16ToF32(Uint16Array.of(0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555, 0x7c00));
    expect(Array.from(back)).toEqual([1, -2, 65504, 5.960464477539063e-8, Math.fround(0.333251953125), Infinity]);
  });
});
