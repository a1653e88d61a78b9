import { expect, test } from '@playwright/test';
import { fullShot, startWebApp, type WebApp } from './app';

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
});
test.afterAll(async () => {
  await app.stop();
});

test('the shell shows the engine facts and runs and cancels a self-test job', async ({ page }) => {
  const info = app.cliJson<{ sqliteVersion: string; executionProviders: string[]; dbPath: string }>('info');
  await page.goto(app.url);
  // The token leaves the address bar once the page has it.
  await expect(page).not.toHaveURL(/token=/);

  await expect(page.getByTestId('status-eps')).toContainText('cpu');
  await expect(page.getByTestId('status-eps')).toContainText('webgpu');
  await expect(page.getByTestId('status-sqlite')).toHaveText(`SQLite ${info.sqliteVersion}`);
  await expect(page.getByTestId('status-db')).toContainText(info.dbPath);

  for (const name of ['Datasets', 'Backbones', 'Embeddings', 'Train', 'Compare', 'Try an image']) {
    await expect(page.getByRole('link', { name })).toBeVisible();
  }

  await page.getByTestId('jobs-toggle').click();
  await page.getByTestId('start-selftest').click();
  const job = page.getByTestId('job').first();
  await expect(job).toHaveAttribute('data-status', 'running');
  await expect(job.locator('progress')).toBeVisible();
  await expect.poll(async () => Number(await job.locator('progress').getAttribute('value'))).toBeGreaterThan(0);
  await fullShot(page, 'shell');
  await job.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-status', 'cancelled');
  await expect(job.getByTestId('job-status')).toHaveText('cancelled');

  // A reload keeps the session (the token is in the page's sessionStorage, not the URL; no cookie).
  await page.reload();
  await expect(page.getByTestId('status-sqlite')).toHaveText(`SQLite ${info.sqliteVersion}`);
});
