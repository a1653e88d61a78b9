import type { RGBImage } from './decode';

// Pillow's fixed-point layout for 8-bit images (src/libImaging/Resample.c): 32 - 8 - 2 bits.
const PRECISION_BITS = 22;
const BICUBIC_SUPPORT = 2;

/** Pillow's bicubic kernel (a = -0.5, the Keys kernel). */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

/** Per-output-pixel first source index, tap count and int32 weights, exactly as Pillow computes them. */
interface Coeffs {
  ksize: number;
  bounds: Int32Array; // [xmin, count] per output pixel
  kk: Int32Array; // outSize * ksize fixed-point weights
}

/** Pillow's precompute_coeffs + normalize_coeffs_8bpc for the full box [0, inSize). */
export function bicubicCoeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  // Downscaling widens the kernel by the scale factor: that is Pillow's built-in antialiasing.
  const filterscale = scale < 1 ? 1 : scale;
  const support = BICUBIC_SUPPORT * filterscale;
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const kk = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    // C's (int) cast truncates toward zero; both values are >= -support, so trunc matches.
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const v = bicubic((x + xmin - center + 0.5) * ss);
      w[x] = v;
      ww += v;
    }
    for (let x = 0; x < ksize; x++) {
      let v = x < xmax ? w[x]! : 0;
      if (x < xmax && ww !== 0) v /= ww;
      // Pillow rounds half away from zero when converting to fixed point.
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    bounds[xx * 2] = xmin;
    bounds[xx * 2 + 1] = xmax;
  }
  return { ksize, bounds, kk };
}

function clip8(v: number): number {
  if (v >= 1 << (PRECISION_BITS + 8)) return 255;
  if (v <= 0) return 0;
  return v >> PRECISION_BITS;
}

const HALF = 1 << (PRECISION_BITS - 1);

function resampleHorizontal(src: Uint8Array, w: number, h: number, outW: number): Uint8Array {
  const { ksize, bounds, kk } = bicubicCoeffs(w, outW);
  const out = new Uint8Array(outW * h * 3);
  for (let y = 0; y < h; y++) {
    const row = y * w * 3;
    const orow = y * outW * 3;
    for (let xx = 0; xx < outW; xx++) {
      const xmin = bounds[xx * 2]!;
      const n = bounds[xx * 2 + 1]!;
      const k0 = xx * ksize;
      let s0 = HALF;
      let s1 = HALF;
      let s2 = HALF;
      let p = row + xmin * 3;
      for (let x = 0; x < n; x++, p += 3) {
        const k = kk[k0 + x]!;
        s0 += src[p]! * k;
        s1 += src[p + 1]! * k;
        s2 += src[p + 2]! * k;
      }
      const o = orow + xx * 3;
      out[o] = clip8(s0);
      out[o + 1] = clip8(s1);
      out[o + 2] = clip8(s2);
    }
  }
  return out;
}

function resampleVertical(src: Uint8Array, w: number, h: number, outH: number): Uint8Array {
  const { ksize, bounds, kk } = bicubicCoeffs(h, outH);
  const stride = w * 3;
  const out = new Uint8Array(w * outH * 3);
  for (let yy = 0; yy < outH; yy++) {
    const ymin = bounds[yy * 2]!;
    const n = bounds[yy * 2 + 1]!;
    const k0 = yy * ksize;
    const orow = yy * stride;
    for (let i = 0; i < stride; i++) {
      let s = HALF;
      let p = ymin * stride + i;
      for (let y = 0; y < n; y++, p += stride) s += src[p]! * kk[k0 + y]!;
      out[orow + i] = clip8(s);
    }
  }
  return out;
}

/**
 * Pillow's Image.resize(size, Image.BICUBIC) on an RGB image, bit for bit: a horizontal pass into a
 * uint8 intermediate, then a vertical pass; a pass whose size does not change is skipped, as in Pillow.
 */
export function resizeBicubic(img: RGBImage, outW: number, outH: number): RGBImage {
  if (outW < 1 || outH < 1) throw new RangeError(`resize: bad size ${outW}x${outH}`);
  let data = img.data;
  let w = img.width;
  const h = img.height;
  if (outW !== w) {
    data = resampleHorizontal(data, w, h, outW);
    w = outW;
  }
  if (outH !== h) data = resampleVertical(data, w, h, outH);
  if (data === img.data) data = new Uint8Array(img.data);
  return { data, width: outW, height: outH };
}

/** The 32x32 RGB thumbnail the raw-pixels baseline uses (Pillow bicubic, like CIFAR's own size). */
export function resize32(img: RGBImage): RGBImage {
  return resizeBicubic(img, 32, 32);
}
