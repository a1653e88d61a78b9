/**
 * Issue 6's journey, shared by the web host (e2e/web.journey.spec.ts) and the Electron app
 * (e2e/electron.journey.spec.ts): import the fixture CIFAR-10 archive, add the fixture backbone, embed on
 * cpu, train all five kinds, compare with `dinolab compare --json`, open the confusion matrices and the
 * misclassified browser, try two images, open the embedding map. A screenshot of every page lands in
 * e2e/artifacts (prefixed with the host's name).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, type Page } from '@playwright/test';
import { fixtures, fullShot } from './app';

const CLASSIFIERS = ['mlp', 'keras', 'svc', 'logreg', 'knn'] as const;
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'cifar', 'expected.json'), 'utf8')) as {
  cifar10: { train: number; test: number; train_label_counts: number[] };
};

export interface JourneyContext {
  /** Runs `dinolab --db <the app's database> ...args --json`. */
  cliJson<T = unknown>(...args: string[]): T;
  /** Screenshot name prefix ('journey' for the web host). */
  prefix: string;
}

async function go(page: Page, name: string): Promise<void> {
  await page.getByRole('link', { name, exact: true }).click();
}

export async function journey(page: Page, ctx: JourneyContext): Promise<void> {

  // Datasets: an empty workspace offers the first-run paths; import the archive by path.
  await expect(page.getByTestId('welcome')).toBeVisible();
  await page.getByTestId('import-path').fill(path.join(fixtures, 'cifar', 'cifar-10-python.tar.gz'));
  await page.getByTestId('kind-cifar').check();
  await page.getByTestId('import-start').click();
  const card = page.getByTestId('dataset');
  await expect(card).toHaveCount(1, { timeout: 60_000 });
  await expect(card.getByTestId('count-train')).toContainText(String(expected.cifar10.train));
  await expect(card.getByTestId('count-test')).toContainText(String(expected.cifar10.test));
  const counts = await card.getByTestId('class-count').allTextContents();
  expect(counts.map((t) => Number(t.split('/')[0]!.trim()))).toEqual(expected.cifar10.train_label_counts);
  await expect(card.getByTestId('class-bar').first()).toHaveAttribute('title', /^airplane: /);

  // The sample browser pages through 120 images, 48 at a time, and filters by split and class.
  await card.getByTestId('browse').click();
  const browser = page.getByTestId('sample-browser');
  await expect(browser.getByTestId('sample')).toHaveCount(48);
  await expect(browser.getByTestId('samples-pager-label')).toHaveText('page 1 of 3');
  await browser.getByTestId('samples-pager-next').click();
  await expect(browser.getByTestId('samples-pager-label')).toHaveText('page 2 of 3');
  await browser.getByTestId('samples-pager-next').click();
  await expect(browser.getByTestId('sample')).toHaveCount(24);
  await browser.getByTestId('filter-split').selectOption('test');
  await expect(browser.getByTestId('sample-total')).toHaveText('20 images');
  await expect(browser.getByTestId('samples-pager-label')).toHaveText('page 1 of 1');
  await browser.getByTestId('filter-split').selectOption('');
  await expect(browser.getByTestId('sample-total')).toHaveText('120 images');
  await expect(browser.getByTestId('samples-pager-label')).toHaveText('page 1 of 3');
  await fullShot(page, `${ctx.prefix}-datasets`);

  // Backbones: add the fixture ONNX file by path.
  await go(page, 'Backbones');
  await page.getByTestId('backbone-path').fill(path.join(fixtures, 'models', 'dinov2-vits14-random.onnx'));
  await page.getByTestId('backbone-add').click();
  const onnxRow = page.getByTestId('backbone').filter({ hasText: 'onnx' });
  await expect(onnxRow).toHaveCount(1, { timeout: 60_000 });
  await expect(onnxRow.getByTestId('backbone-dim')).toHaveText('384');
  await expect(page.getByTestId('backbone-add-error')).toHaveCount(0);
  await fullShot(page, `${ctx.prefix}-backbones`);

  // Embeddings: resize-224 on cpu; the progress bar reaches 100 %.
  await go(page, 'Embeddings');
  const backboneId = await onnxBackboneId(page);
  await page.getByTestId('embed-backbone').selectOption(String(backboneId));
  await page.getByTestId('preset-resize-224').check();
  await page.getByTestId('embed-provider').selectOption('cpu');
  await page.getByTestId('embed-start').click();
  await expect(page.getByTestId('embed-error')).toHaveCount(0);
  const progress = page.getByTestId('job-progress').first();
  await expect(progress).toBeVisible();
  await expect(progress.getByTestId('job-percent')).toHaveText('100.0 %', { timeout: 8 * 60_000 });
  await expect(progress).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('set').first()).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('set').first().getByTestId('set-done')).toHaveText('120 / 120');
  const setId = Number(await page.getByTestId('set').first().getAttribute('data-id'));
  expect(setId).toBeGreaterThan(0);
  await fullShot(page, `${ctx.prefix}-embeddings`);

  // Train: all five kinds, mlp and keras with 5 epochs; they queue and finish.
  await page.getByTestId('set').first().getByTestId('set-train').click();
  await expect(page.getByTestId('panel-mlp')).toBeVisible();
  for (const kind of ['mlp', 'keras']) {
    await page.getByTestId(`kind-tab-${kind}`).click();
    const input = page.getByTestId(`panel-${kind}`).getByTestId('param-epochs').locator('input');
    await input.fill('0');
    await expect(page.getByTestId(`start-${kind}`)).toBeDisabled(); // out of range: refused before sending
    await input.fill('5');
    await expect(page.getByTestId(`start-${kind}`)).toBeEnabled();
  }
  for (const kind of CLASSIFIERS) {
    await page.getByTestId(`kind-tab-${kind}`).click();
    await page.getByTestId(`start-${kind}`).click();
    await expect(page.locator(`[data-testid="run"][data-kind="${kind}"]`)).toHaveCount(1);
    await expect(page.getByTestId(`start-error-${kind}`)).toHaveCount(0);
  }
  await expect(page.getByTestId('run')).toHaveCount(5);
  await expect(page.locator('[data-testid="run"][data-status="done"]')).toHaveCount(5, { timeout: 8 * 60_000 });
  // The mlp's curves: five epochs of train and validation logs.
  await page.locator('[data-testid="run"][data-kind="mlp"]').getByTestId('run-curves').click();
  await expect(page.getByTestId('curves-epoch')).toHaveText(/^[45]$/);
  await expect(page.getByTestId('chart-loss')).toBeVisible();
  await fullShot(page, `${ctx.prefix}-train`);

  // Compare: five rows whose test accuracies equal the CLI's.
  await go(page, 'Compare');
  const rows = page.getByTestId('compare-row');
  await expect(rows).toHaveCount(5);
  const cli = ctx.cliJson<{ id: number; kind: string; test_accuracy: number }[]>('compare', '--set', String(setId));
  expect(cli).toHaveLength(5);
  for (const r of cli) {
    const cell = page.locator(`[data-testid="compare-row"][data-id="${r.id}"]`).getByTestId('cell-test_accuracy');
    expect(Number(await cell.getAttribute('data-value'))).toBe(r.test_accuracy);
    await expect(cell).toHaveText(`${(r.test_accuracy * 100).toFixed(1)} %`);
  }
  await page.getByTestId('sort-test_accuracy').click();
  await expect(page.getByTestId('chart-metrics')).toBeVisible();
  await fullShot(page, `${ctx.prefix}-compare`);
  await page.getByTestId('tab-confusion').click();
  await expect(page.getByTestId('confusion-matrix')).toHaveCount(5);
  await page.getByTestId('cm-normalised').check();
  await fullShot(page, `${ctx.prefix}-compare-confusion`);
  await page.getByTestId('tab-curves').click();
  await expect(page.getByTestId('chart-curves-loss')).toBeVisible();
  await page.getByTestId('tab-f1').click();
  await expect(page.getByTestId('chart-f1')).toBeVisible();
  await page.getByTestId('tab-mis').click();
  await expect(page.getByTestId('misclassified')).toBeVisible();
  const misTotal = Number(await page.getByTestId('mis-total').textContent());
  expect(misTotal).toBeGreaterThan(0); // a random-weight ViT on 100 images does not get all 20 test images right
  await expect(page.getByTestId('mis-item').first().locator('img')).toBeVisible();
  await fullShot(page, `${ctx.prefix}-compare-misclassified`);

  // Try an image: two fixture images through the file picker; all five runs answer, with 8 neighbours each.
  await go(page, 'Try an image');
  await page.getByTestId('probe-file').setInputFiles([
    path.join(fixtures, 'images', 'img00_32x32_RGB.jpg'),
    path.join(fixtures, 'images', 'img05_300x500_RGB.png'),
  ]);
  const probes = page.getByTestId('probe');
  await expect(probes).toHaveCount(2, { timeout: 3 * 60_000 });
  for (const p of await probes.all()) {
    await expect(p.getByTestId('probe-prediction')).toHaveCount(5);
    await expect(p.getByTestId('neighbour')).toHaveCount(8);
    await expect(p.getByTestId('probe-ood')).toContainText('percentile');
  }
  await fullShot(page, `${ctx.prefix}-try`);

  // Embedding map: compute it, see the scatter, highlight a run's mistakes.
  await go(page, 'Embedding map');
  await page.getByTestId('map-compute').click();
  await expect(page.getByTestId('map-view')).toBeVisible({ timeout: 3 * 60_000 });
  await page.getByTestId('map-highlight').selectOption({ index: 1 });
  await expect(page.getByTestId('map-view')).toContainText('misclassified test points');
  await fullShot(page, `${ctx.prefix}-map`);

  // The same pages follow a dark system theme.
  await page.emulateMedia({ colorScheme: 'dark' });
  await go(page, 'Compare');
  await expect(page.getByTestId('chart-metrics')).toBeVisible();
  await fullShot(page, `${ctx.prefix}-compare-dark`);
  await go(page, 'Datasets');
  await expect(page.getByTestId('dataset')).toHaveCount(1);
  await fullShot(page, `${ctx.prefix}-datasets-dark`);
}

async function onnxBackboneId(page: Page): Promise<number> {
  const options = page.getByTestId('embed-backbone').locator('option');
  await expect(options.first()).toBeAttached();
  for (const o of await options.all()) {
    if ((await o.textContent())?.includes('dinov2-vits14-random')) return Number(await o.getAttribute('value'));
  }
  throw new Error('the fixture backbone is not offered on the Embeddings page');
}
