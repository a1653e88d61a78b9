/**
 * Labels needed and OOD pages on a tiny database filled by the CLI: Shapes-10 (100 + 50 images) embedded
 * with two baselines (raw pixels, random ViT-S/14) and the CIFAR-10 fixture archive with raw pixels.
 * A sweep is started from the page on each Shapes-10 set: the chart shows one line per kind x set on a log
 * axis with its band. The OOD page benchmarks Shapes-10 (in) against CIFAR-10 (out).
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { fixtures, fullShot, startWebApp, type WebApp } from './app';

let app: WebApp;
const setIds: number[] = [];
let shapesId = 0;
test.beforeAll(async () => {
  test.setTimeout(240_000);
  app = await startWebApp();
  const { datasetId } = app.cliJson<{ datasetId: number }>('import', 'sample', 'shapes10', '--train', '100', '--test', '50');
  shapesId = datasetId;
  for (const b of ['raw-pixels', 'random-vit-s14']) {
    const r = app.cliJson<{ setId: number }>('embed', '--dataset', String(datasetId), '--backbone', b, '--preset', 'resize-224', '--ep', 'cpu');
    setIds.push(r.setId);
  }
  const cifar = app.cliJson<{ datasetId: number }>('import', 'cifar', path.join(fixtures, 'cifar/cifar-10-python.tar.gz'));
  app.cliJson('embed', '--dataset', String(cifar.datasetId), '--backbone', 'raw-pixels', '--preset', 'resize-224', '--ep', 'cpu');
});
test.afterAll(async () => {
  await app?.stop();
});

for (const size of [{ width: 1440, height: 900 }, { width: 900, height: 700 }]) {
  test(`Labels needed: two sweeps from the page, one chart with a line per kind x set (${size.width}x${size.height})`, async ({ page }) => {
    test.setTimeout(240_000);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setViewportSize(size);
    await page.goto(app.url);
    await page.getByRole('link', { name: 'Labels needed', exact: true }).click();
    await page.getByTestId('sweep-dataset').selectOption(String(shapesId));
    if (size.width === 1440) {
      await expect(page.getByTestId('sweep-empty')).toBeVisible();
      await page.getByTestId('sweep-kind-mlp').uncheck();
      await page.getByTestId('sweep-mode').selectOption('per_class');
      await page.getByTestId('sweep-sizes').fill('1, 2, 5, 10');
      await page.getByTestId('sweep-repeats').fill('2');
      for (const id of setIds) {
        await page.getByTestId('sweep-set').selectOption(String(id));
        await page.getByTestId('sweep-start').click();
        await expect(page.getByTestId('sweep-card').filter({ hasText: `set #${id}` }).filter({ hasText: '16/16 runs · done' })).toBeVisible({ timeout: 180_000 });
      }
    }
    await expect(page.getByTestId('sweep-card')).toHaveCount(2);
    const canvas = page.getByTestId('sweep-chart').locator('canvas');
    await expect(canvas).toBeVisible();
    // 2 kinds x 2 sets: four lines (each with its band), on a log axis of images per class.
    const chart = page.getByTestId('sweep-chart-box');
    await expect(chart).toHaveAttribute('data-lines', '4');
    await expect(chart).toHaveAttribute('data-sets', '2');
    await expect(chart).toHaveAttribute('data-xscale', 'logarithmic');
    await expect(page.getByTestId('sweep-table').first()).toContainText('± ');
    await fullShot(page, `labels-needed-${size.width}`);
    expect(errors).toEqual([]);
  });
}

test('OOD page: Shapes-10 test vs CIFAR-10, metrics table, ROC curves and histograms', async ({ page }) => {
  test.setTimeout(120_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(app.url);
  await page.getByRole('link', { name: 'OOD', exact: true }).click();
  await page.getByTestId('ood-set').selectOption(String(setIds[0]));
  await expect(page.getByTestId('ood-ood-set')).toContainText('CIFAR-10');
  // The newest finished run of each kind starts ticked (the sweeps made logreg and knn runs here).
  const boxes = page.getByTestId('ood-runs').locator('label');
  await expect(boxes.first()).toBeVisible();
  const labels = await boxes.allTextContents();
  const ticked: string[] = [];
  for (let i = 0; i < labels.length; i++) if (await boxes.nth(i).locator('input').isChecked()) ticked.push(labels[i]!.trim());
  const newest = (kind: string): string => labels.map((l) => l.trim()).filter((l) => l.startsWith(`${kind} #`)).sort((a, b) => Number(b.split('#')[1]) - Number(a.split('#')[1]))[0]!;
  expect(ticked.sort()).toEqual([newest('knn'), newest('logreg')].sort());
  await page.getByTestId('ood-run').click();
  await expect(page.getByTestId('ood-table')).toContainText('knn_k10');
  for (const t of ticked) await expect(page.getByTestId('ood-table')).toContainText(`msp:run-${t.split('#')[1]}`);
  await expect(page.getByTestId('ood-table')).toContainText(`energy:run-${newest('logreg').split('#')[1]}`);
  await expect(page.getByTestId('ood-table')).toContainText('mahalanobis');
  await expect(page.getByTestId('ood-roc').locator('canvas')).toBeVisible();
  await expect(page.getByTestId('ood-hist').locator('canvas')).toBeVisible();
  await fullShot(page, 'ood-1440');
  await page.setViewportSize({ width: 900, height: 700 });
  await fullShot(page, 'ood-900');
  // The Try page's "unusual image" flag is explained by this benchmark and links to it, for its set.
  await page.getByRole('link', { name: 'Try an image', exact: true }).click();
  await page.getByTestId('set-picker').selectOption(String(setIds[1]));
  await expect(page.getByTestId('try-ood-note')).toContainText('5th percentile');
  await page.getByTestId('try-ood-link').click();
  await expect(page.getByTestId('page-ood')).toBeVisible();
  await expect(page.getByTestId('ood-set')).toHaveValue(String(setIds[1]));
  expect(errors).toEqual([]);
});
