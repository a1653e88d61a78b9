import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { LabError } from '../errors';
import { decodeRGB } from './decode';

const FIX = path.resolve(process.cwd(), '../shared/fixtures/images');

async function expectBad(p: Promise<unknown>, re: RegExp): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(LabError);
  expect((err as LabError).code).toBe('bad_image');
  expect((err as LabError).message).toMatch(re);
}

describe('decodeRGB', () => {
  it('decodes every fixture image to 3-channel RGB at its stated size', async () => {
    const sizes: Record<string, [number, number]> = {
      'img00_32x32_RGB.jpg': [32, 32],
      'img02_100x80_L.png': [100, 80],
      'img03_640x480_RGBA.png': [640, 480],
      'img05_300x500_RGB.png': [300, 500],
      'img06_64x48_L.jpg': [64, 48],
      'img07_257x255_RGBA.png': [257, 255],
    };
    for (const [name, [w, h]] of Object.entries(sizes)) {
      const img = await decodeRGB(path.join(FIX, name));
      expect([img.width, img.height]).toEqual([w, h]);
      expect(img.data.length).toBe(w * h * 3);
    }
  });

  it('replicates greyscale into R = G = B', async () => {
    const img = await decodeRGB(path.join(FIX, 'img02_100x80_L.png'));
    for (let i = 0; i < img.width * img.height; i++) {
      expect(img.data[i * 3 + 1]).toBe(img.data[i * 3]);
      expect(img.data[i * 3 + 2]).toBe(img.data[i * 3]);
    }
  });

  it('drops alpha without compositing (PIL convert("RGB"))', async () => {
    // Fully transparent red and half-transparent blue must keep their colour values.
    const rgba = Buffer.from([255, 0, 0, 0, 0, 0, 255, 128, 10, 20, 30, 255, 40, 50, 60, 1]);
    const png = await sharp(rgba, { raw: { width: 2, height: 2, channels: 4 } }).png().toBuffer();
    const img = await decodeRGB(png);
    expect(Array.from(img.data)).toEqual([255, 0, 0, 0, 0, 255, 10, 20, 30, 40, 50, 60]);
  });

  it('applies EXIF orientation', async () => {
    // 2x1 image: left pixel red, right pixel blue; orientation 6 = rotate 90 degrees clockwise to display.
    const raw = Buffer.from([255, 0, 0, 0, 0, 255]);
    const jpg = await sharp(raw, { raw: { width: 2, height: 1, channels: 3 } })
      .resize(16, 8, { kernel: 'nearest' })
      .jpeg({ quality: 100 })
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const img = await decodeRGB(jpg);
    expect([img.width, img.height]).toEqual([8, 16]);
    // After a clockwise turn the left (red) half is on top.
    expect(img.data[0]!).toBeGreaterThan(200);
    expect(img.data[2]!).toBeLessThan(60);
    const last = (16 * 8 - 1) * 3;
    expect(img.data[last + 2]!).toBeGreaterThan(200);
  });

  it('takes the first frame of an animated GIF', async () => {
    const w = 4;
    const h = 4;
    const frames = Buffer.alloc(w * h * 2 * 3);
    for (let i = 0; i < w * h; i++) frames.set([255, 255, 255], i * 3); // frame 0 white
    const gif = await sharp(frames, { raw: { width: w, height: h * 2, channels: 3, pageHeight: h } }).gif().toBuffer();
    const meta = await sharp(gif).metadata();
    expect(meta.pages).toBe(2);
    const img = await decodeRGB(gif);
    expect([img.width, img.height]).toEqual([w, h]);
    expect(Math.min(...img.data)).toBeGreaterThan(240);
  });

  it('refuses images over the pixel limit', async () => {
    await expectBad(decodeRGB(path.join(FIX, 'img03_640x480_RGBA.png'), { maxPixels: 100_000 }), /640x480.*larger than the 0\.1 MP limit/);
  });

  it('refuses SVG, empty, truncated and non-image input with specific messages', async () => {
    await expectBad(decodeRGB(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')), /SVG/);
    await expectBad(decodeRGB(Buffer.alloc(0)), /empty/);
    const png = fs.readFileSync(path.join(FIX, 'img05_300x500_RGB.png'));
    await expectBad(decodeRGB(png.subarray(0, png.length >> 1)), /truncated|corrupt|could not be decoded/);
    const jpg = fs.readFileSync(path.join(FIX, 'img00_32x32_RGB.jpg'));
    await expectBad(decodeRGB(jpg.subarray(0, 400)), /truncated|corrupt|could not be decoded/);
    await expectBad(decodeRGB(Buffer.from('hello, this is not an image')), /not a readable image/);
    await expectBad(decodeRGB('/nonexistent/x.png'), /Cannot read/);
  });
});
