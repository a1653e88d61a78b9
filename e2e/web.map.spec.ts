/**
 * The embedding map by keyboard: on a tiny database filled by the CLI (Shapes-10, 100 + 30 images, raw
 * pixels), a 130-point map is computed in the page, then walked with the arrow keys.
 */
import { expect, test } from '@playwright/test';
import { fullShot, startWebApp, type WebApp } from './app';

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
  const { datasetId } = app.cliJson<{ datasetId: number }>('import', 'sample', 'shapes10', '--train', '100', '--test', '30');
  app.cliJson('embed', '--dataset', String(datasetId), '--backbone', 'raw-pixels', '--ep', 'cpu');
});
test.afterAll(async () => {
  await app?.stop();
});

test('arrow keys step through the map points with the hover tooltip; Escape clears it', async ({ page }) => {
  test.setTimeout(90_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Embedding map', exact: true }).click();
  await page.getByTestId('map-n').fill('130');
  await page.getByTestId('map-compute').click();
  await expect(page.getByTestId('map-view')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('map-keys-hint')).toContainText('arrow keys');

  const plot = page.getByTestId('map-plot');
  const tip = page.getByTestId('map-tip');
  await expect(plot).toHaveAttribute('tabindex', '0');
  await plot.focus();
  await expect(tip).toHaveCount(0);

  // The first press picks the point nearest the middle; the tooltip shows its thumbnail, class and id.
  await page.keyboard.press('ArrowRight');
  await expect(tip).toBeVisible();
  await expect(tip).toHaveAttribute('data-source', 'keyboard');
  await expect(tip.locator('img')).toHaveAttribute('src', /^data:image\//);
  await expect(tip).toContainText(/(train|test) · #\d+/);
  const visited = [await tip.getAttribute('data-sample')];
  await expect(page.locator('[aria-live="polite"]').filter({ hasText: `sample ${visited[0]}` })).toHaveCount(1);

  // Each arrow moves to another point; the page itself does not scroll.
  const scrollY = await page.evaluate(() => window.scrollY);
  for (const key of ['ArrowRight', 'ArrowDown', 'ArrowLeft', 'ArrowUp']) {
    await page.keyboard.press(key);
    await expect(tip).not.toHaveAttribute('data-sample', visited[visited.length - 1]!);
    visited.push(await tip.getAttribute('data-sample'));
  }
  expect(await page.evaluate(() => window.scrollY)).toBe(scrollY);
  await expect(tip.locator('img')).toHaveAttribute('src', /^data:image\//);
  await fullShot(page, 'map-keyboard');

  // The tooltip sits where the point is drawn: the mouse at that spot hovers the same sample.
  const box = (await plot.boundingBox())!;
  const left = parseFloat((await tip.evaluate((el) => (el as HTMLElement).style.left)) || 'NaN') - 14;
  const top = parseFloat((await tip.evaluate((el) => (el as HTMLElement).style.top)) || 'NaN') - 14;
  const sample = await tip.getAttribute('data-sample');
  // A visible focus ring is drawn around the keyboard's point, centred on it.
  const ring = page.getByTestId('map-focus-ring');
  await expect(ring).toBeVisible();
  await expect(ring).toHaveAttribute('data-sample', sample!);
  const rb = (await ring.boundingBox())!;
  expect(Math.abs(rb.x + rb.width / 2 - (box.x + left))).toBeLessThan(2);
  expect(Math.abs(rb.y + rb.height / 2 - (box.y + top))).toBeLessThan(2);
  expect(rb.width).toBeGreaterThanOrEqual(20);
  await page.mouse.move(box.x + left, box.y + top);
  await expect(tip).toHaveAttribute('data-source', 'mouse');
  await expect(tip).toHaveAttribute('data-sample', sample!);

  // Back to the keyboard; Escape clears the tooltip and keeps focus on the map.
  await page.mouse.move(box.x + box.width + 40, box.y - 40);
  await expect(tip).toHaveCount(0);
  await plot.focus();
  await page.keyboard.press('ArrowLeft');
  await expect(tip).toHaveAttribute('data-source', 'keyboard');
  await page.keyboard.press('Escape');
  await expect(tip).toHaveCount(0);
  await expect(page.getByTestId('map-focus-ring')).toHaveCount(0);
  await expect(plot).toBeFocused();
  expect(errors).toEqual([]);
});
