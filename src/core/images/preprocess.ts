import type { RGBImage } from './decode';
import { resizeBicubic } from './resize';

/** Preprocessing presets: `dinov2-eval` = DINOv2's evaluation transform; `resize-224` = whole image to 224x224. */
export type Preset = 'dinov2-eval' | 'resize-224';

/** The presets, for validation and UI lists. */
export const PRESETS: readonly Preset[] = ['dinov2-eval', 'resize-224'];

const MEAN = [0.485, 0.456, 0.406] as const;
const STD = [0.229, 0.224, 0.225] as const;

/** Python's round(): halves go to the even neighbour (torchvision's centre-crop offset uses it). */
function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** The resized (w, h) of torchvision's Resize(short) for a PIL image: short side to `short`, long side truncated. */
export function shorterSideSize(width: number, height: number, short: number): [number, number] {
  if (width <= height) return [short, Math.trunc((short * height) / width)];
  return [Math.trunc((short * width) / height), short];
}

/** Where a preset takes the model input from: resize the image to width x height, then crop size x size at (x0, y0). */
export interface PresetGeometry {
  width: number;
  height: number;
  x0: number;
  y0: number;
}

/** The resize and crop a preset applies to a width x height image for a model input of side `size`. */
export function presetGeometry(width: number, height: number, preset: Preset, size: number): PresetGeometry {
  if (preset === 'dinov2-eval') {
    // DINOv2 eval: Resize(256) then CenterCrop(224); the 256/224 ratio is kept for other input sizes.
    const short = Math.round((size * 256) / 224);
    const [w, h] = shorterSideSize(width, height, short);
    return { width: w, height: h, x0: roundHalfEven((w - size) / 2), y0: roundHalfEven((h - size) / 2) };
  }
  if (preset === 'resize-224') return { width: size, height: size, x0: 0, y0: 0 };
  throw new RangeError(`unknown preset ${String(preset)}`);
}

/** ImageNet mean and std as float32, the constants torchvision's Normalize uses. */
export const NORMALIZE = { mean: MEAN, std: STD } as const;

/**
 * Writes the normalised CHW float32 tensor [3, size, size] of `img` into `out` at `offset`
 * (a new array when none is given). `size` is the model's input side (224 for DINOv2).
 */
export function preprocessTo(img: RGBImage, preset: Preset, size: number, out?: Float32Array, offset = 0): Float32Array {
  const plane = size * size;
  const dst = out ?? new Float32Array(3 * plane);
  if (dst.length < offset + 3 * plane) throw new RangeError('preprocess: output buffer too small');
  const g = presetGeometry(img.width, img.height, preset, size);
  const r = resizeBicubic(img, g.width, g.height);
  const { x0, y0 } = g;
  const src = r.data;
  const stride = r.width * 3;
  // Same float32 arithmetic as torchvision: (v / 255 - mean) / std, each step rounded to float32.
  const lut = new Float32Array(256 * 3);
  const f = new Float32Array(1);
  for (let c = 0; c < 3; c++) {
    for (let v = 0; v < 256; v++) {
      f[0] = v / 255;
      f[0] = f[0]! - Math.fround(MEAN[c]!);
      f[0] = f[0]! / Math.fround(STD[c]!);
      lut[c * 256 + v] = f[0]!;
    }
  }
  for (let y = 0; y < size; y++) {
    const srow = (y + y0) * stride + x0 * 3;
    const drow = offset + y * size;
    for (let x = 0; x < size; x++) {
      const s = srow + x * 3;
      const d = drow + x;
      dst[d] = lut[src[s]!]!;
      dst[d + plane] = lut[256 + src[s + 1]!]!;
      dst[d + 2 * plane] = lut[512 + src[s + 2]!]!;
    }
  }
  return dst;
}

/** Writes the [3, 224, 224] CHW float32 tensor for `preset` into `out` at `offset` (new array if none). */
export function preprocess(img: RGBImage, preset: Preset, out?: Float32Array, offset = 0): Float32Array {
  return preprocessTo(img, preset, 224, out, offset);
}
