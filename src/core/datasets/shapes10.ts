import { createHash } from 'node:crypto';
import { mulberry32 } from '../math/prng';

/** The ten Shapes-10 classes, in label order. */
export const SHAPES10_CLASSES = ['circle', 'square', 'triangle', 'cross', 'ring', 'stripes-h', 'stripes-v', 'checker', 'diagonal', 'dots'] as const;

/** One split of Shapes-10: labels and 32x32 HWC RGB pixels (3,072 bytes per image). */
export interface ShapesSplit {
  count: number;
  labels: Uint8Array;
  pixels: Uint8Array;
}

/** The generated Shapes-10 dataset. */
export interface Shapes10Data {
  classes: string[];
  train: ShapesSplit;
  test: ShapesSplit;
  /** sha256 over each sample (train, then test): label byte, then its 3,072 HWC pixel bytes. */
  fingerprint: string;
}

const S = 32;

type Inside = (x: number, y: number) => boolean;

function shapeTest(label: number, cx: number, cy: number, r: number, period: number, phase: number): Inside {
  const patch = (x: number, y: number): boolean => Math.abs(x - cx) <= r + 3 && Math.abs(y - cy) <= r + 3;
  switch (label) {
    case 0:
      return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
    case 1:
      return (x, y) => Math.abs(x - cx) <= r * 0.85 && Math.abs(y - cy) <= r * 0.85;
    case 2:
      return (x, y) => {
        const dy = y - cy;
        return dy >= -r && dy <= r && Math.abs(x - cx) <= (dy + r) / 2;
      };
    case 3: {
      const t = Math.max(1, r / 4);
      return (x, y) => (Math.abs(x - cx) <= t && Math.abs(y - cy) <= r) || (Math.abs(y - cy) <= t && Math.abs(x - cx) <= r);
    }
    case 4: {
      const inner = r * 0.55;
      return (x, y) => {
        const d = (x - cx) ** 2 + (y - cy) ** 2;
        return d <= r * r && d >= inner * inner;
      };
    }
    case 5:
      return (x, y) => patch(x, y) && Math.floor((y + phase) / period) % 2 === 0;
    case 6:
      return (x, y) => patch(x, y) && Math.floor((x + phase) / period) % 2 === 0;
    case 7:
      return (x, y) => patch(x, y) && (Math.floor((x + phase) / period) + Math.floor((y + phase) / period)) % 2 === 0;
    case 8:
      return (x, y) => patch(x, y) && Math.floor((x + y + phase) / period) % 2 === 0;
    default: {
      const p = period + 2;
      return (x, y) => {
        if (!patch(x, y)) return false;
        const mx = ((x + phase) % p) - p / 2 + 0.5;
        const my = ((y + phase) % p) - p / 2 + 0.5;
        return mx * mx + my * my <= (p / 3) ** 2;
      };
    }
  }
}

/**
 * The classes of Shapes-OOD, the offline demo's out-of-distribution set: drawn the same way as Shapes-10
 * (colours, size, position, noise) but sharing no class with it.
 */
export const SHAPES_OOD_CLASSES = ['star', 'hexagon', 'crescent', 'waves', 'speckle'] as const;

function oodShapeTest(label: number, cx: number, cy: number, r: number, period: number, phase: number): Inside {
  switch (label) {
    case 0:
      // A five-pointed star: radius varies with the angle.
      return (x, y) => {
        const a = Math.atan2(y - cy, x - cx) + phase;
        const rr = r * (0.55 + 0.45 * Math.abs(Math.cos((5 * a) / 2)));
        return (x - cx) ** 2 + (y - cy) ** 2 <= rr * rr;
      };
    case 1:
      return (x, y) => {
        const dx = Math.abs(x - cx);
        const dy = Math.abs(y - cy);
        return dy <= r * 0.87 && dx * 0.87 + dy * 0.5 <= r * 0.87;
      };
    case 2:
      return (x, y) => (x - cx) ** 2 + (y - cy) ** 2 <= r * r && (x - cx - r * 0.5) ** 2 + (y - cy) ** 2 > (r * 0.8) ** 2;
    case 3:
      return (x, y) => Math.abs(x - cx) <= r + 3 && Math.abs(y - cy) <= r + 3 && Math.abs(y - cy - 2 * Math.sin((x + phase) / period)) % (2 * period) < period / 1.5;
    default: {
      // Speckle: a hashed pattern of isolated pixels in the patch.
      return (x, y) => Math.abs(x - cx) <= r + 3 && Math.abs(y - cy) <= r + 3 && ((x * 73856093) ^ (y * 19349663) ^ (phase * 83492791)) % 5 === 0;
    }
  }
}

function generateSplit(count: number, seed: number, numClasses = 10, shape: typeof shapeTest = shapeTest): ShapesSplit {
  const rand = mulberry32(seed);
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const labels = new Uint8Array(count);
  const pixels = new Uint8Array(count * S * S * 3);
  for (let n = 0; n < count; n++) {
    const label = n % numClasses;
    labels[n] = label;
    // A light shape on a dark ground (or the reverse), random hues: the class lives in the shape and its
    // texture, not in the colours, and a pixel-level model can still find some of it.
    const dark = [int(0, 90), int(0, 90), int(0, 90)];
    const light = [int(150, 255), int(150, 255), int(150, 255)];
    const invert = rand() < 0.25;
    const bg = invert ? light : dark;
    const fg = invert ? dark : light;
    const r = int(7, 11);
    const cx = int(Math.max(r, 10), Math.min(S - 1 - r, 21));
    const cy = int(Math.max(r, 10), Math.min(S - 1 - r, 21));
    const inside = shape(label, cx + rand() - 0.5, cy + rand() - 0.5, r, int(2, 4), int(0, 5));
    const noise = int(4, 20);
    const o = n * S * S * 3;
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const c = inside(x, y) ? fg : bg;
        const q = o + (y * S + x) * 3;
        for (let k = 0; k < 3; k++) {
          const v = c[k]! + Math.round((rand() * 2 - 1) * noise);
          pixels[q + k] = v < 0 ? 0 : v > 255 ? 255 : v;
        }
      }
    }
  }
  return { count, labels, pixels };
}

/** Generates Shapes-10 deterministically: the same sizes always give the same bytes (default 5,000 / 1,000). */
export function generateShapes10(train = 5000, test = 1000): Shapes10Data {
  return finish([...SHAPES10_CLASSES], generateSplit(train, 0x5eed0001), generateSplit(test, 0x5eed0002));
}

/** Generates Shapes-OOD (5 classes none of which is in Shapes-10) deterministically (default 500 / 500). */
export function generateShapesOod(train = 500, test = 500): Shapes10Data {
  const n = SHAPES_OOD_CLASSES.length;
  return finish([...SHAPES_OOD_CLASSES], generateSplit(train, 0x00d50001, n, oodShapeTest), generateSplit(test, 0x00d50002, n, oodShapeTest));
}

function finish(classes: string[], tr: ShapesSplit, te: ShapesSplit): Shapes10Data {
  const hash = createHash('sha256');
  for (const s of [tr, te]) {
    for (let i = 0; i < s.count; i++) {
      hash.update(Uint8Array.of(s.labels[i]!));
      hash.update(s.pixels.subarray(i * 3072, (i + 1) * 3072));
    }
  }
  return { classes, train: tr, test: te, fingerprint: hash.digest('hex') };
}
