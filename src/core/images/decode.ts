import fs from 'node:fs/promises';
import path from 'node:path';
import sharp, { type Metadata, type OutputInfo } from 'sharp';
import { LabError } from '../errors';

/** A decoded 8-bit RGB image, HWC (interleaved R, G, B), rows top to bottom. */
export interface RGBImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** Options for decodeRGB. */
export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs); default 100 megapixels. */
  maxPixels?: number;
}

const DEFAULT_MAX_PIXELS = 100_000_000;

function looksLikeSvg(buf: Buffer): boolean {
  const head = buf.subarray(0, 1024).toString('utf8').trimStart().toLowerCase();
  return head.startsWith('<svg') || (head.startsWith('<?xml') && head.includes('<svg')) || head.startsWith('<!doctype svg');
}

async function readInput(input: Buffer | string): Promise<Buffer> {
  if (typeof input !== 'string') return input;
  try {
    return await fs.readFile(input);
  } catch (err) {
    throw new LabError('bad_image', `Cannot read ${input}: ${(err as Error).message}`);
  }
}

/** Reads the header only and refuses SVGs and images over the pixel limit before anything is decoded. */
async function checkHeader(buf: Buffer, label: string, maxPixels: number): Promise<void> {
  let meta: Metadata;
  try {
    meta = await sharp(buf, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw new LabError('bad_image', `${label} is not a readable image (${(err as Error).message}).`);
  }
  if (meta.format === 'svg') throw new LabError('bad_image', `${label} is an SVG (vector) image: convert it to PNG or JPEG first.`);
  const w = meta.width ?? 0;
  const h = meta.pageHeight ?? meta.height ?? 0;
  if (w * h > maxPixels) {
    throw new LabError(
      'bad_image',
      `${label} is ${w}x${h} (${(w * h / 1e6).toFixed(1)} MP), larger than the ${(maxPixels / 1e6).toFixed(1)} MP limit.`,
    );
  }
}

/** Decodes the first frame, EXIF orientation applied, to 8-bit pixels with the file's own channels. */
async function decodeRaw(buf: Buffer, label: string, maxPixels: number): Promise<{ data: Buffer; info: OutputInfo }> {
  try {
    // failOn 'truncated' rejects cut-off files instead of returning a half-grey picture; page 0 = first frame.
    return await sharp(buf, { limitInputPixels: maxPixels, failOn: 'truncated', pages: 1, page: 0 })
      .rotate()
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    const msg = (err as Error).message;
    if (/pixel limit|exceeds/i.test(msg)) {
      throw new LabError('bad_image', `${label} is larger than the ${(maxPixels / 1e6).toFixed(1)} MP limit.`);
    }
    if (/premature|truncat|end of|corrupt|unexpected end/i.test(msg)) {
      throw new LabError('bad_image', `${label} is truncated or corrupt (${msg}).`);
    }
    throw new LabError('bad_image', `${label} could not be decoded (${msg}).`);
  }
}

/** RGB from 1 to 4 channels: alpha dropped (not composited), grey replicated. */
function toRGB(raw: { data: Buffer; info: OutputInfo }, label: string): RGBImage {
  const { width, height, channels } = raw.info;
  const src = raw.data;
  const n = width * height;
  const out = new Uint8Array(n * 3);
  if (channels === 3) {
    out.set(src.subarray(0, n * 3));
  } else if (channels === 4) {
    for (let i = 0, j = 0; i < n; i++, j += 4) {
      out[i * 3] = src[j]!;
      out[i * 3 + 1] = src[j + 1]!;
      out[i * 3 + 2] = src[j + 2]!;
    }
  } else if (channels === 1 || channels === 2) {
    for (let i = 0; i < n; i++) {
      const v = src[i * channels]!;
      out[i * 3] = v;
      out[i * 3 + 1] = v;
      out[i * 3 + 2] = v;
    }
  } else {
    throw new LabError('bad_image', `${label} has ${channels} channels; expected 1 to 4.`);
  }
  return { data: out, width, height };
}

/**
 * Decodes an image file or buffer to 8-bit RGB the way PIL's `Image.open(f).convert('RGB')` plus
 * EXIF transposition does: orientation applied, alpha dropped (not composited), greyscale replicated,
 * first frame of animations. Anything unusable becomes LabError('bad_image') with the reason.
 */
export async function decodeRGB(input: Buffer | string, opts: DecodeOptions = {}): Promise<RGBImage> {
  const maxPixels = opts.maxPixels ?? DEFAULT_MAX_PIXELS;
  const label = typeof input === 'string' ? path.basename(input) : 'the image';
  const buf = await readInput(input);
  if (buf.byteLength === 0) throw new LabError('bad_image', `${label} is empty (0 bytes).`);
  // SVG is refused up front: rasterising it would need a size policy and can fetch external resources.
  if (looksLikeSvg(buf)) throw new LabError('bad_image', `${label} is an SVG (vector) image: convert it to PNG or JPEG first.`);
  await checkHeader(buf, label, maxPixels);
  return toRGB(await decodeRaw(buf, label, maxPixels), label);
}
