/**
 * Status that is true at every moment (issue 14): lists follow job events without a reload, a queued job
 * says how many jobs are ahead of it (no "0.0 % 0 / 0"), the jobs history shows start time and duration and
 * links a finished job to its result, the Train page's live panel follows the run that trains.
 */
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

test('the demo dataset appears in the list while the demo still runs, without a reload', async ({ page }) => {
  test.setTimeout(180_000);
  await page.goto(app.url);
  await expect(page.getByTestId('datasets-empty')).toBeVisible();
  await page.getByTestId('run-demo').click();
  const job = page.getByTestId('jobs-drawer').locator('[data-testid="job"][data-kind="experiment"]');
  await expect(job).toBeVisible();
  // The demo makes Shapes-10 in its first minute and then embeds and trains for minutes: the card shows meanwhile.
  await expect(page.getByTestId('dataset-name')).toHaveText('Shapes-10 demo', { timeout: 120_000 });
  await expect(job).toHaveAttribute('data-status', 'running');
  // The list of sets follows too (the demo's first set is being embedded).
  await page.getByRole('link', { name: 'Embeddings' }).click();
  await expect(page.getByTestId('set').first()).toBeVisible({ timeout: 60_000 });
  await job.getByTestId('job-cancel').click();
  await expect(job).toHaveAttribute('data-status', 'cancelled');
});

test('a queued import says how many jobs are ahead; the jobs history shows times and links a result', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(app.url);
  await page.getByTestId('jobs-toggle').click();
  // A light job (the self-test) holds the light slot, so the import waits behind it.
  await page.getByTestId('start-selftest').click();
  const selftest = page.locator('[data-testid="job"][data-kind="selftest"]').first();
  await expect(selftest).toHaveAttribute('data-status', 'running');
  // No ETA before the job has a rate.
  await expect(selftest.getByTestId('job-eta')).toHaveCount(0);
  await page.getByTestId('jobs-toggle').click();

  await page.getByTestId('import-path').fill(path.join(fixtures, 'cifar', 'cifar-10-python.tar.gz'));
  await page.getByTestId('import-start').click();
  const inline = page.locator('[data-testid="job-progress"][data-status="queued"]');
  await expect(inline.getByTestId('job-queued')).toHaveText('queued (1 ahead)');
  await expect(inline.getByTestId('job-percent')).toHaveCount(0);
  await page.getByTestId('jobs-toggle').click();
  const imp = page.locator('[data-testid="job"][data-kind="import"]');
  await expect(imp.getByTestId('job-status')).toHaveText('queued (1 ahead)');
  await selftest.getByTestId('job-cancel').click();
  await expect(imp).toHaveAttribute('data-status', 'done');
  await expect(imp.getByTestId('job-when')).toContainText(/started \d\d:\d\d:\d\d · [\d.]+ (ms|s)/);

  // A finished experiment (here from the CLI, on the same database) links to the Compare page of its set.
  const r = app.cliJson<{ sets: { setId: number }[] }>('experiment', '--dataset', 'CIFAR-10', '--backbone', 'raw-pixels', '--preset', 'resize-224', '--ep', 'cpu', '--models', 'knn');
  expect(r).toBeTruthy();
  await page.reload();
  await page.getByTestId('jobs-toggle').click();
  const exp = page.locator('[data-testid="job"][data-kind="experiment"][data-status="done"]');
  await expect(exp.getByTestId('job-result-link')).toHaveText('Open Compare →');
  await exp.getByTestId('job-result-link').click();
  await expect(page.getByTestId('page-compare')).toBeVisible();
  await expect(page.getByTestId('compare-row')).toHaveCount(1);
});

test('the live panel follows the run that trains, and a run with a logged epoch never shows queued', async ({ page }) => {
  test.setTimeout(120_000);
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Train' }).click();
  const set = app.cliJson<{ id: number; datasetName: string; status: string }[]>('sets').find((s) => s.datasetName === 'CIFAR-10' && s.status === 'done');
  if (set) await page.getByTestId('set-picker').selectOption(String(set.id));
  await page.getByTestId('kind-tab-keras').click();
  await page.getByTestId('panel-keras').getByTestId('param-epochs').locator('input').fill('3000');
  await page.getByTestId('start-keras').click();
  await page.getByTestId('kind-tab-knn').click();
  await page.getByTestId('start-knn').click();

  const keras = page.locator('[data-testid="run"][data-kind="keras"]').first();
  const knn = page.locator('[data-testid="run"][data-kind="knn"]').first();
  const kerasId = await keras.getAttribute('data-id');
  await expect(page.getByTestId('curves-epoch')).not.toHaveText('0', { timeout: 60_000 });
  // The panel shows the keras run that trains, not the k-NN run queued after it.
  await expect(page.getByTestId('live-curves')).toHaveAttribute('data-run', kerasId!);
  await expect(page.getByTestId('curves-status')).toHaveText('running');
  await expect(keras).toHaveAttribute('data-status', 'running');
  await expect(knn).toHaveAttribute('data-status', 'queued');
  await expect(knn).toContainText('(1 ahead)');
  await keras.getByTestId('run-cancel').click();
  await expect(knn).toHaveAttribute('data-status', 'done', { timeout: 60_000 });

  // A k beyond the set's 100 training images is refused at once, with the limit.
  await page.getByTestId('kind-tab-knn').click();
  await page.getByTestId('panel-knn').getByTestId('param-k').locator('input').fill('5000');
  await page.getByTestId('start-knn').click();
  await expect(page.getByTestId('start-error-knn')).toContainText('k = 5000 is more than the 100 training images of this set: choose k of at most 100.');
});
