/**
 * Layout at the two window sizes people use (issue 14): no page scrolls sideways at 900 px, the navigation
 * turns into a rail below 1000 px, the open jobs panel lies over the page instead of squeezing it, a skip
 * link leads to the content. Writes the screenshot set of every page (jobs panel open and closed) to
 * docs/screenshots/<page>-<width>-drawer-<open|closed>.png.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { docsShots, fixtures, startWebApp, type WebApp } from './app';

const pages = ['datasets', 'backbones', 'embeddings', 'train', 'compare', 'try', 'map', 'labels', 'ood'] as const;
const sizes = [
  { width: 900, height: 700 },
  { width: 1440, height: 900 },
];
const shots = docsShots();

let app: WebApp;
test.beforeAll(async () => {
  test.setTimeout(180_000);
  app = await startWebApp();
  // A workspace with something on every page: the fixture CIFAR-10, its raw-pixels set, two runs.
  app.cliJson('import', 'cifar', path.join(fixtures, 'cifar', 'cifar-10-python.tar.gz'));
  app.cliJson('experiment', '--dataset', 'CIFAR-10', '--backbone', 'raw-pixels', '--preset', 'resize-224', '--ep', 'cpu', '--models', 'knn,logreg');
});
test.afterAll(async () => {
  await app.stop();
});

async function open(page: Page, id: (typeof pages)[number]): Promise<void> {
  const names: Partial<Record<(typeof pages)[number], string>> = { try: 'Try an image', map: 'Embedding map', labels: 'Labels needed' };
  await page.getByRole('link', { name: names[id] ?? new RegExp(`^${id}$`, 'i') }).click();
  await expect(page.getByTestId(`page-${id}`)).toBeVisible();
  // Let lists and charts load before measuring.
  await page.waitForLoadState('networkidle');
  await page.waitForTimeout(300);
}

function horizontalOverflow(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
}

/** The window as a person sees it, made as tall as the page so the image shows all of it. */
async function screenshot(page: Page, name: string, vp: { width: number; height: number }): Promise<void> {
  const height = await page.evaluate(() => Math.ceil(document.documentElement.scrollHeight));
  await page.setViewportSize({ width: vp.width, height: Math.max(vp.height, Math.min(height, 4000)) });
  fs.mkdirSync(shots, { recursive: true });
  await page.screenshot({ path: path.join(shots, `${name}.png`) });
  await page.setViewportSize(vp);
}

for (const vp of sizes) {
  test(`every page at ${vp.width}x${vp.height}: no sideways scroll, jobs panel open and closed`, async ({ page }) => {
    test.setTimeout(180_000);
    await page.setViewportSize(vp);
    await page.goto(app.url);
    for (const id of pages) {
      await open(page, id);
      for (const drawer of ['closed', 'open'] as const) {
        const isOpen = (await page.getByTestId('jobs-drawer').count()) > 0;
        if ((drawer === 'open') !== isOpen) await page.getByTestId('jobs-toggle').click();
        await expect(page.getByTestId('jobs-drawer')).toHaveCount(drawer === 'open' ? 1 : 0);
        const o = await horizontalOverflow(page);
        expect(o.scrollWidth, `${id} at ${vp.width} px, jobs panel ${drawer}: the page scrolls sideways`).toBeLessThanOrEqual(o.clientWidth);
        await screenshot(page, `${id}-${vp.width}-drawer-${drawer}`, vp);
      }
      await page.getByTestId('jobs-toggle').click();
    }
  });
}

test('below 1000 px the navigation is a rail; the jobs panel lies over the page instead of squeezing it', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 700 });
  await page.goto(app.url);
  const nav = (await page.getByRole('navigation', { name: 'Main' }).boundingBox())!;
  expect(nav.width).toBeLessThan(80);
  // The rail keeps every page's name for screen readers and in a tooltip.
  await expect(page.getByRole('link', { name: 'Embeddings' })).toHaveAttribute('title', 'Embeddings');

  for (const vp of sizes) {
    await page.setViewportSize(vp);
    await open(page, 'embeddings');
    const before = (await page.locator('main').boundingBox())!;
    await page.getByTestId('jobs-toggle').click();
    const drawer = (await page.getByTestId('jobs-drawer').boundingBox())!;
    const after = (await page.locator('main').boundingBox())!;
    // The page keeps its width (its table's Actions column is not squeezed out); the panel covers its right side.
    expect(after.width).toBe(before.width);
    expect(drawer.x).toBeLessThan(after.x + after.width);
    await page.getByTestId('jobs-toggle').click();
  }

  await page.setViewportSize({ width: 1440, height: 900 });
  const wide = (await page.getByRole('navigation', { name: 'Main' }).boundingBox())!;
  expect(wide.width).toBeGreaterThan(150);
});

test('a skip link leads from the first Tab to the page content', async ({ page }) => {
  await page.goto(app.url);
  await page.keyboard.press('Tab');
  const skip = page.getByTestId('skip-link');
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('main#content')).toBeFocused();
  await expect(page.getByTestId('page-datasets')).toBeVisible();
});

test('the set list: batch with its unit and a tooltip, notes under their set, Start (not Resume) for a set where nothing ran', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(app.url);
  await open(page, 'embeddings');
  const batch = page.locator('[data-testid="set"]').first().getByTestId('set-batch');
  await expect(batch).toHaveText(/^\d+ img$/);
  await expect(batch).toHaveAttribute('title', /Images per inference call/);
  // Notes are never inside a row's Actions cell.
  await expect(page.locator('[data-testid="set"] [data-testid="set-notice"]')).toHaveCount(0);

  // A new set whose job is cancelled while it waits (a training run holds the compute slot) offers Start, not Resume.
  await open(page, 'train');
  await page.getByTestId('kind-tab-keras').click();
  await page.getByTestId('panel-keras').getByTestId('param-epochs').locator('input').fill('5000');
  await page.getByTestId('start-keras').click();
  const keras = page.locator('[data-testid="run"][data-kind="keras"][data-status="running"]');
  await expect(keras).toHaveCount(1, { timeout: 30_000 });
  await open(page, 'embeddings');
  const raw = app.cliJson<{ id: number; name: string }[]>('backbones').find((b) => b.name === 'raw-pixels')!;
  await page.getByTestId('embed-backbone').selectOption(String(raw.id));
  await page.getByTestId('preset-dinov2-eval').check();
  await page.getByTestId('embed-provider').selectOption('cpu');
  await page.getByTestId('embed-start').click();
  const row = page.locator('[data-testid="set"]').filter({ hasText: 'dinov2-eval' });
  await expect(row).toHaveAttribute('data-status', 'pending');
  // While its job waits: neither Start nor Resume.
  await expect(row.getByTestId('set-resume')).toHaveCount(0);
  await expect(row.getByTestId('set-start')).toHaveCount(0);
  const queued = page.locator('[data-testid="job-progress"][data-status="queued"]');
  await expect(queued.getByTestId('job-queued')).toHaveText('queued (1 ahead)');
  await queued.getByTestId('job-progress-cancel').click();
  await expect(row.getByTestId('set-start')).toBeVisible();
  await expect(row.getByTestId('set-resume')).toHaveCount(0);
  await open(page, 'train');
  await keras.getByTestId('run-cancel').click();
});

test('the sample browser opens in view, and a clicked sample shows a larger image, its facts and nearest neighbours', async ({ page }) => {
  await page.setViewportSize({ width: 900, height: 700 });
  await page.goto(app.url);
  await page.locator('[data-testid="dataset"][aria-label="CIFAR-10"]').getByTestId('browse').click();
  const browser = page.getByTestId('sample-browser');
  await expect(browser).toBeInViewport();
  const first = browser.getByTestId('sample').first();
  const id = await first.getAttribute('data-id');
  await first.getByRole('button').click();
  const detail = page.getByTestId('sample-detail');
  await expect(detail).toBeInViewport();
  const img = detail.getByTestId('sample-detail-image');
  await expect(img).toHaveAttribute('src', /^data:image\/png;base64,/);
  expect((await img.boundingBox())!.width).toBeGreaterThan(128);
  // The same facts as the grid's entry for it (source · W×H · split) and its class name.
  const [source, , split] = (await first.getAttribute('title'))!.split(' · ');
  await expect(detail.getByTestId('sample-detail-split')).toHaveText(split!);
  await expect(detail.getByTestId('sample-detail-source')).toHaveText(source!);
  await expect(detail.getByTestId('sample-detail-label')).toHaveText((await first.locator('.lab').textContent())!);
  // The dataset has a finished raw-pixels set: its 8 nearest training images, not the sample itself.
  await expect(detail.getByTestId('sample-neighbour')).toHaveCount(8);
  await expect(detail.locator(`button[title="Open sample #${id}"]`)).toHaveCount(0);
});
