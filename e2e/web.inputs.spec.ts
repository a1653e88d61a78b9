/**
 * Inputs a new user gets wrong (issue 14): the same backbone twice says which backbone it already is, a
 * 0-byte or non-ONNX file gets a plain sentence with onnxruntime's words behind a "Details" toggle.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { fixtures, root as repoRoot, startWebApp, type WebApp } from './app';

const cliPath = path.join(repoRoot, 'out', 'main', 'cli.js');

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
});
test.afterAll(async () => {
  await app.stop();
});

test('a backbone added twice is named; an empty or non-ONNX file gets a plain sentence with details on demand', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Backbones' }).click();
  const model = path.join(fixtures, 'models', 'dinov2-vits14-random.onnx');
  await page.getByTestId('backbone-path').fill(model);
  await page.getByTestId('backbone-add').click();
  await expect(page.getByTestId('backbone').filter({ hasText: 'dinov2-vits14-random' })).toHaveCount(1, { timeout: 60_000 });

  // The same file again: refused with the backbone it already is; the form keeps the path.
  await page.getByTestId('backbone-path').fill(model);
  await page.getByTestId('backbone-add').click();
  await expect(page.getByTestId('backbone-add-error')).toHaveText(/This model is already added, as backbone "dinov2-vits14-random" \(#\d+\)\./, { timeout: 60_000 });
  await expect(page.getByTestId('backbone-path')).toHaveValue(model);

  const empty = path.join(app.dir, 'empty.onnx');
  fs.writeFileSync(empty, '');
  await page.getByTestId('backbone-path').fill(empty);
  await page.getByTestId('backbone-add').click();
  await expect(page.getByTestId('backbone-add-error')).toHaveText('empty.onnx is empty (0 bytes): it is not an ONNX model.', { timeout: 60_000 });

  const notOnnx = path.join(app.dir, 'notes.onnx');
  fs.writeFileSync(notOnnx, 'these are my notes, not a model\n'.repeat(20));
  await page.getByTestId('backbone-path').fill(notOnnx);
  await page.getByTestId('backbone-add').click();
  const err = page.getByTestId('backbone-add-error');
  await expect(err).toContainText('notes.onnx is not an ONNX model DINO Lab can load', { timeout: 60_000 });
  await expect(err).not.toContainText('onnxruntime');
  const details = page.getByTestId('backbone-add-detail');
  await expect(details.locator('pre')).toBeHidden();
  await details.getByText('Details').click();
  await expect(details.locator('pre')).toBeVisible();
  await expect(details.locator('pre')).not.toBeEmpty();
});

test('a folder import names its skipped files and warns about classes without test images, on the card, the CLI and Train/Compare', async ({ page }) => {
  test.setTimeout(120_000);
  // Three small classes (20 % test leaves two without a test image), plus three bad files.
  const root = path.join(app.dir, 'photos');
  const imgs = ['img00_32x32_RGB.jpg', 'img01_32x32_RGB.png', 'img04_224x224_RGB.png', 'img05_300x500_RGB.png', 'img06_64x48_L.jpg', 'img02_100x80_L.png', 'img03_640x480_RGBA.png', 'img07_257x255_RGBA.png', 'img00_32x32_RGB.jpg'];
  // cat has five images (one goes to test), dog and fox two (20 % of 2 rounds to none).
  ['cat', 'dog', 'fox'].forEach((cls, c) => {
    fs.mkdirSync(path.join(root, cls), { recursive: true });
    const own = c === 0 ? [...imgs.slice(0, 3), imgs[6]!, imgs[7]!] : imgs.slice(c * 3, c * 3 + 2);
    own.forEach((f, i) => fs.copyFileSync(path.join(fixtures, 'images', f), path.join(root, cls, `${i}${path.extname(f)}`)));
  });
  fs.writeFileSync(path.join(root, 'cat', 'notes.txt'), 'not an image');
  fs.writeFileSync(path.join(root, 'cat', 'empty.png'), '');
  fs.writeFileSync(path.join(root, 'cat', 'fake.png'), 'not a png');

  const out = execFileSync(process.execPath, [cliPath, '--db', app.dbPath, 'import', 'folder', root, '--name', 'Photos'], {
    encoding: 'utf8',
    env: { ...process.env, DINOLAB_DATA_DIR: app.dir },
  });
  expect(out).toContain('Skipped 3 file(s) that are not usable images:');
  expect(out).toMatch(/cat\/notes\.txt: /);
  expect(out).toMatch(/cat\/empty\.png: .*empty \(0 bytes\)/);
  expect(out).toContain("Warning: No test images for classes 'dog', 'fox'");

  await page.goto(app.url);
  const card = page.locator('[data-testid="dataset"][aria-label="Photos"]');
  await expect(card.getByTestId('count-skipped')).toHaveText('3 skipped');
  const list = card.getByTestId('skipped-files');
  await expect(list.locator('li')).toHaveCount(3);
  await expect(list.locator('li').first()).toBeHidden();
  await list.locator('summary').click();
  await expect(list.locator('li').filter({ hasText: 'cat/fake.png' })).toBeVisible();
  const warning = card.getByTestId('dataset-warning').first();
  await expect(warning).toContainText("No test images for classes 'dog', 'fox'");

  // On Train and Compare the missing metrics are explained.
  const { setId } = app.cliJson<{ setId: number }>('embed', '--dataset', 'Photos', '--backbone', 'raw-pixels', '--ep', 'cpu');
  await page.reload();
  await page.getByRole('link', { name: 'Train' }).click();
  await page.getByTestId('set-picker').selectOption(String(setId));
  await expect(page.getByTestId('metrics-missing-note')).toContainText('No test images for class');
  await page.getByRole('link', { name: 'Compare' }).click();
  await expect(page.getByTestId('metrics-missing-note')).toContainText('No test images for class');
});
