/**
 * Try an image by drag-and-drop and by paste, and delete a tried image: on a tiny database filled by the
 * CLI (Shapes-10 with 100 + 30 images, raw pixels, one k-NN run), so it needs no model and runs in seconds.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { fixtures, fullShot, startWebApp, type WebApp } from './app';

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
  const { datasetId } = app.cliJson<{ datasetId: number }>('import', 'sample', 'shapes10', '--train', '100', '--test', '30');
  const { setId } = app.cliJson<{ setId: number }>('embed', '--dataset', String(datasetId), '--backbone', 'raw-pixels', '--ep', 'cpu');
  app.cliJson('train', '--set', String(setId), '--model', 'knn');
});
test.afterAll(async () => {
  await app?.stop();
});

/** A fixture image as a File inside the page, in a DataTransfer as a drop or a paste carries it. */
async function transferOf(page: Page, file: string, type: string) {
  const b64 = fs.readFileSync(path.join(fixtures, 'images', file)).toString('base64');
  return page.evaluateHandle(
    ({ b64, name, type }) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type }));
      return dt;
    },
    { b64, name: file, type },
  );
}

test('images dropped (on the zone or beside it) and pasted are tried; a deleted one stays gone after a reload', async ({ page }) => {
  test.setTimeout(90_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Try an image', exact: true }).click();
  await expect(page.getByText('No images tried on this set yet.')).toBeVisible();
  const probes = page.getByTestId('probe');

  // (a) Drop: the events a browser fires for a file dragged from the desktop, with the file in dataTransfer.
  const zone = page.getByTestId('drop-zone');
  const dropped = await transferOf(page, 'img04_224x224_RGB.png', 'image/png');
  await zone.dispatchEvent('dragenter', { dataTransfer: dropped });
  await zone.dispatchEvent('dragover', { dataTransfer: dropped });
  await expect(zone).toHaveClass(/over/);
  await zone.dispatchEvent('drop', { dataTransfer: dropped });
  await expect(zone).not.toHaveClass(/over/);
  await expect(probes).toHaveCount(1, { timeout: 45_000 });
  const first = probes.first();
  await expect(first).toHaveAttribute('aria-label', 'Results for img04_224x224_RGB.png');
  await expect(first.getByTestId('probe-prediction')).toHaveCount(1);
  await expect(first.getByTestId('probe-prediction')).toHaveAttribute('data-kind', 'knn');
  await expect(first.getByTestId('neighbour')).toHaveCount(8);
  await expect(first.getByTestId('probe-ood')).toContainText('percentile');
  await expect(page.getByTestId('probe-error')).toHaveCount(0);
  await fullShot(page, 'try-dropped');

  // (b) Paste: a ClipboardEvent carrying the image, as Ctrl+V of a copied image delivers it.
  const pasted = await transferOf(page, 'img01_32x32_RGB.png', 'image/png');
  await page.evaluate((dt) => {
    document.body.dispatchEvent(new ClipboardEvent('paste', { clipboardData: dt, bubbles: true, cancelable: true }));
  }, pasted);
  await expect(probes).toHaveCount(2, { timeout: 45_000 });
  // Newest first.
  await expect(probes.first()).toHaveAttribute('aria-label', 'Results for img01_32x32_RGB.png');
  await expect(probes.first().getByTestId('neighbour')).toHaveCount(8);

  // A drop that misses the zone is taken too (the browser would otherwise open the image in place of the app).
  const missed = await transferOf(page, 'img06_64x48_L.jpg', 'image/jpeg');
  await page.getByRole('heading', { name: 'Tried on this set' }).dispatchEvent('drop', { dataTransfer: missed });
  await expect(probes).toHaveCount(3, { timeout: 45_000 });
  await expect(probes.first()).toHaveAttribute('aria-label', 'Results for img06_64x48_L.jpg');
  expect(page.url()).toContain(new URL(app.url).host);

  // (c) Delete the dropped one: asked first ("Keep" leaves it), then gone, also after a reload.
  const target = page.locator('[data-testid="probe"][aria-label="Results for img04_224x224_RGB.png"]');
  await target.getByTestId('probe-delete').click();
  await page.getByRole('button', { name: 'Keep' }).click();
  await expect(probes).toHaveCount(3);
  await target.getByTestId('probe-delete').click();
  await expect(target.getByRole('group', { name: 'Delete img04_224x224_RGB.png?' })).toBeVisible();
  await fullShot(page, 'try-delete-ask');
  await target.getByTestId('probe-delete-yes').click();
  await expect(probes).toHaveCount(2);
  await expect(target).toHaveCount(0);
  await page.reload();
  await page.getByRole('link', { name: 'Try an image', exact: true }).click();
  await expect(probes).toHaveCount(2);
  await expect(target).toHaveCount(0);
  await expect(probes.nth(1)).toHaveAttribute('aria-label', 'Results for img01_32x32_RGB.png');
  expect(errors).toEqual([]);
});

test('each dropped file is tried or refused on its own: a fake PNG, an empty file and a .txt are named, the good image is tried', async ({ page }) => {
  test.setTimeout(90_000);
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Try an image', exact: true }).click();
  const tried = page.locator('[data-testid="probe"][aria-label="Results for good.png"]');
  await expect(page.getByTestId('drop-zone')).toBeVisible();
  const good = fs.readFileSync(path.join(fixtures, 'images', 'img02_100x80_L.png')).toString('base64');
  const dt = await page.evaluateHandle((good) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(good), (c) => c.charCodeAt(0))], 'good.png', { type: 'image/png' }));
    dt.items.add(new File(['this is not a png at all'], 'fake.png', { type: 'image/png' }));
    dt.items.add(new File([], 'empty.png', { type: 'image/png' }));
    dt.items.add(new File(['notes'], 'notes.txt', { type: 'text/plain' }));
    return dt;
  }, good);
  await page.getByTestId('drop-zone').dispatchEvent('drop', { dataTransfer: dt });
  await expect(tried).toHaveCount(1, { timeout: 45_000 });
  await expect(page.locator('[data-testid="probe"][aria-label="Results for fake.png"]')).toHaveCount(0);
  const refused = page.getByTestId('refused-file');
  await expect(refused).toHaveCount(3);
  await expect(page.locator('[data-testid="refused-file"][data-name="empty.png"]')).toContainText('empty (0 bytes)');
  await expect(page.locator('[data-testid="refused-file"][data-name="notes.txt"]')).toContainText('Not an image');
  await expect(page.locator('[data-testid="refused-file"][data-name="fake.png"]')).toContainText('not a readable image');
  await expect(page.getByTestId('probe-error')).toHaveCount(0);
  // No raw schema message anywhere.
  await expect(page.getByText('Invalid input for probe.start')).toHaveCount(0);
});
