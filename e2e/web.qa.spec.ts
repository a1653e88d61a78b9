import path from 'node:path';
import { expect, test } from '@playwright/test';
import { fixtures, startWebApp, type WebApp } from './app';

// QA findings that a test should hold: refused jobs, the docked jobs panel, keyboard use of confirmations.
let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
});
test.afterAll(async () => {
  await app.stop();
});

test('a refused import, the jobs panel and a confirmation work for keyboard and eye', async ({ page }) => {
  test.setTimeout(60_000);
  await page.goto(app.url);
  const archive = path.join(fixtures, 'cifar', 'cifar-10-python.tar.gz');
  await page.getByTestId('import-path').fill(archive);
  await page.getByTestId('import-start').click();
  await expect(page.getByTestId('dataset')).toHaveCount(1);

  // The same name again: the engine's message next to the import, and no empty "0.0 % · 0 / 0" progress.
  await page.getByTestId('import-path').fill(archive);
  await page.getByTestId('import-path').press('Enter');
  const failed = page.locator('[data-testid="job-progress"][data-status="failed"]');
  await expect(failed).toContainText("A dataset named 'CIFAR-10' already exists");
  await expect(failed.getByTestId('job-percent')).toHaveCount(0);
  await expect(failed.locator('progress')).toHaveCount(0);

  // Below 1600 px the open jobs panel lies over the page's right side (the page keeps its width, see
  // web.layout.spec.ts); Escape closes it and focus returns to its toggle.
  const mainBefore = (await page.locator('main').boundingBox())!;
  await page.getByTestId('jobs-toggle').click();
  const drawer = page.getByTestId('jobs-drawer');
  await expect(drawer).toBeVisible();
  expect((await page.locator('main').boundingBox())!.width).toBe(mainBefore.width);
  // On a 1600 px window it takes a column of its own beside the page instead.
  await page.setViewportSize({ width: 1600, height: 900 });
  const main = (await page.locator('main').boundingBox())!;
  const aside = (await drawer.boundingBox())!;
  expect(main.x + main.width).toBeLessThanOrEqual(aside.x + 1);
  await page.setViewportSize({ width: 1280, height: 800 });
  await page.keyboard.press('Escape');
  await expect(drawer).toHaveCount(0);
  await expect(page.getByTestId('jobs-toggle')).toBeFocused();

  // A confirmation keeps keyboard focus: Enter asks (focus on "Keep"), Escape takes it back to the button.
  const del = page.getByTestId('dataset').first().getByRole('button', { name: 'Delete' });
  await del.focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('button', { name: 'Keep' })).toBeFocused();
  await page.keyboard.press('Escape');
  await expect(del).toBeFocused();
  await expect(page.getByTestId('dataset')).toHaveCount(1);
});
