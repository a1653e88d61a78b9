/**
 * float32 <-> IEEE half conversions by hand (Node 20 has no Float16Array). Used on the caller's thread
 * (random-vit's fp16 weights) and in the inference worker (fp16 model inputs and outputs).
 */

/** float32 values to IEEE half bits, round to nearest even (overflow to Inf, NaN kept). */
export function f32ToF16(src: Float32Array): Uint16Array {
  const out = new Uint16Array(src.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < src.length; i++) {
    f[0] = src[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const e = (x >>> 23) & 0xff;
    let m = x & 0x7fffff;
    if (e === 0xff) {
      out[i] = sign | 0x7c00 | (m ? 0x200 : 0);
      continue;
    }
    const he = e - 127 + 15;
    if (he >= 31) {
      out[i] = sign | 0x7c00;
      continue;
    }
    if (he <= 0) {
      if (he < -10) {
        out[i] = sign;
        continue;
      }
      m |= 0x800000;
      const shift = 14 - he;
      let h = m >>> shift;
      const rem = m & ((1 << shift) - 1);
      const halfway = 1 << (shift - 1);
      if (rem > halfway || (rem === halfway && h & 1)) h++;
      out[i] = sign | h;
      continue;
    }
    let h = (he << 10) | (m >>> 13);
    const rem = m & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
    out[i] = sign | h;
  }
  return out;
}

/** IEEE half bits to float32 values. */
export function f16ToF32(src: Uint16Array): Float32Array {
  const out = new Float32Array(src.length);
  for (let i = 0; i < src.length; i++) {
    const h = src[i]!;
    const s = h & 0x8000 ? -1 : 1;
    const e = (h >>> 10) & 0x1f;
    const m = h & 0x3ff;
    if (e === 0) out[i] = s * m * 5.960464477539063e-8;
    else if (e === 31) out[i] = m ? NaN : s * Infinity;
    else out[i] = s * (1 + m / 1024) * Math.pow(2, e - 15);
  }
  return out;
}
