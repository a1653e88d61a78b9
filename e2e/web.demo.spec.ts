/** The offline demo from an empty database to a filled Compare page (issue 6 acceptance). */
import { expect, test } from '@playwright/test';
import { fullShot, startWebApp, type WebApp } from './app';

let app: WebApp;
test.beforeAll(async () => {
  app = await startWebApp();
});
test.afterAll(async () => {
  await app.stop();
});

test('an empty workspace runs the offline demo and lands on a filled Compare page', async ({ page }) => {
  test.setTimeout(20 * 60_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.goto(app.url);

  // First run: the empty workspace says what to do and offers the two one-click paths.
  await expect(page.getByTestId('datasets-empty')).toBeVisible();
  await expect(page.getByTestId('welcome')).toBeVisible();
  await expect(page.getByTestId('run-cifar')).toBeEnabled();
  await fullShot(page, 'demo-welcome');

  await page.getByTestId('run-demo').click();
  await expect(page.getByTestId('welcome-step')).toContainText('offline demo');
  // The demo is one job: its progress shows in the jobs drawer, with a cancel button while it runs.
  const job = page.getByTestId('jobs-drawer').locator('[data-testid="job"][data-kind="experiment"]');
  await expect(job).toBeVisible();
  await expect(job.getByTestId('job-cancel')).toBeVisible();
  await expect(page.getByTestId('welcome-step')).toContainText('Done', { timeout: 18 * 60_000 });
  await expect(page.getByTestId('welcome-error')).toHaveCount(0);
  await expect(job).toHaveAttribute('data-status', 'done');
  await expect(page.getByTestId('dataset')).toHaveCount(1);
  await expect(page.getByTestId('dataset-name')).toHaveText('Shapes-10 demo');
  await page.getByTestId('jobs-toggle').click(); // close the drawer
  await fullShot(page, 'demo-datasets');

  await page.getByTestId('open-compare').click();
  await expect(page.getByTestId('page-compare')).toBeVisible();
  // Two embedding sets (raw pixels, random ViT), each with all five classifiers.
  const sets = page.getByTestId('set-picker').locator('option');
  await expect(sets).toHaveCount(2);
  for (const value of await sets.evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))) {
    await page.getByTestId('set-picker').selectOption(value);
    const rows = page.getByTestId('compare-row');
    await expect(rows).toHaveCount(5);
    const cli = app.cliJson<{ id: number; kind: string; status: string; test_accuracy: number }[]>('compare', '--set', value);
    expect(cli.map((r) => r.kind).sort()).toEqual(['keras', 'knn', 'logreg', 'mlp', 'svc']);
    for (const r of cli) {
      expect(r.status).toBe('done');
      const cell = page.locator(`[data-testid="compare-row"][data-id="${r.id}"]`).getByTestId('cell-test_accuracy');
      await expect(cell).toHaveText(`${(r.test_accuracy * 100).toFixed(1)} %`);
    }
  }
  await expect(page.getByTestId('chart-metrics')).toBeVisible();
  await fullShot(page, 'demo-compare');
});
