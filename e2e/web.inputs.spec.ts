/**
 * Inputs a new user gets wrong (issue 14): the same backbone twice says which backbone it already is, a
 * 0-byte or non-ONNX file gets a plain sentence with onnxruntime's words behind a "Details" toggle.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { fixtures, startWebApp, type WebApp } from './app';

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
