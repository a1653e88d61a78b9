/**
 * Know before you wait (issue 18): the Train page says how long the chosen kind and "Train every kind"
 * should take before anything starts — from the committed reference rates while this machine has no run
 * of the kind, said so, then from this machine's runs — a row cap changes the estimate and the runs, a
 * bad cap is refused before anything starts, and the Jobs drawer shows a training run's ETA while it runs.
 */
import path from 'node:path';
import { expect, test } from '@playwright/test';
import { docsShots, startWebApp, type WebApp } from './app';

const shots = docsShots();
let app: WebApp;
let setId = 0;

test.beforeAll(async () => {
  test.setTimeout(5 * 60_000);
  app = await startWebApp();
  app.cliJson('import', 'sample', 'shapes10', '--train', '200', '--test', '60');
  setId = app.cliJson<{ setId: number }>('embed', '--dataset', 'Shapes-10', '--backbone', 'raw-pixels', '--preset', 'resize-224').setId;
});
test.afterAll(async () => {
  await app?.stop();
});

test('the Train page estimates a run and every kind before they start; the row cap and the drawer\'s ETA', async ({ page }) => {
  test.setTimeout(4 * 60_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Train', exact: true }).click();
  await page.getByTestId('set-picker').selectOption(String(setId));

  // Nothing trained on this machine yet: the reference rates, said so.
  await page.getByTestId('kind-tab-svc').click();
  const one = page.getByTestId('train-estimate');
  await expect(one).toContainText(/^Estimated [\d.]+ (ms|s) on 200 training rows, from the reference rates \(no finished run of this kind on this machine yet\)\./);
  await expect(one).toHaveAttribute('title', /No finished svc run on this machine yet: scaled from the reference rate measured by the scale bench/);
  const all = page.getByTestId('train-all-estimate');
  await expect(all).toContainText(/^Train every kind: about [\d.]+ (ms|s|min) \(partly from reference rates/);
  await page.screenshot({ path: path.join(shots, 'train-estimate-1440x900.png') });

  // A row cap: the estimate follows it; a cap under 2 is refused before anything starts.
  await page.getByTestId('train-max-rows').fill('1');
  await expect(page.getByTestId('train-max-rows-error')).toBeVisible();
  await expect(page.getByTestId('start-svc')).toBeDisabled();
  await expect(page.getByTestId('train-all')).toBeDisabled();
  await page.getByTestId('train-max-rows').fill('120');
  await expect(page.getByTestId('train-max-rows-error')).toHaveCount(0);
  await expect(one).toContainText(/on 120 training rows, from the reference rates/);

  // A capped k-NN run from the page: trained on 120 rows; then k-NN's estimate comes from this machine.
  await page.getByTestId('kind-tab-knn').click();
  await page.getByTestId('start-knn').click();
  const knn = page.locator('[data-testid="run"][data-kind="knn"]').first();
  await expect(knn).toHaveAttribute('data-status', 'done', { timeout: 60_000 });
  const runs = app.cliJson<{ kind: string; max_train_rows: number | null }[]>('runs', '--set', String(setId));
  expect(runs[0]).toMatchObject({ kind: 'knn', max_train_rows: 120 });
  await expect(one).toContainText(/^Estimated [\d.]+ (ms|s) on 120 training rows here\./);
  await expect(one).toHaveAttribute('title', /Scaled from a knn run on 120 x 3072 on this machine/);

  // The estimate follows the panel's params: 3,000 epochs instead of the default's are 3000 / d times the fit.
  await page.getByTestId('train-max-rows').fill('');
  await page.getByTestId('kind-tab-keras').click();
  const seconds = async (): Promise<number> => {
    const m = /^Estimated ([\d.]+) (ms|s|min)( (\d+) s)?/.exec((await one.textContent()) ?? '')!;
    return m[2] === 'ms' ? Number(m[1]) / 1000 : m[2] === 's' ? Number(m[1]) : Number(m[1]) * 60 + Number(m[4] ?? 0);
  };
  await expect(one).toContainText(/^Estimated .* on 200 training rows, from the reference rates/);
  const before = await seconds();
  await page.getByTestId('panel-keras').getByTestId('param-epochs').locator('input').fill('3000');
  await expect.poll(seconds).toBeGreaterThan(before * 20);

  // While a run trains, the drawer shows its ETA (from the estimate before a step is done, then its pace).
  await page.getByTestId('start-keras').click();
  await page.getByTestId('jobs-toggle').click();
  const job = page.locator('[data-testid="job"][data-kind="train"][data-status="running"]');
  await expect(job.getByTestId('job-eta')).toContainText(/^ETA [\d.]+ (ms|s|min|h)/, { timeout: 60_000 });
  await page.setViewportSize({ width: 900, height: 700 });
  await page.screenshot({ path: path.join(shots, 'train-eta-900x700.png') });
  await job.getByTestId('job-cancel').click();
  await expect(page.locator('[data-testid="job"][data-kind="train"][data-status="cancelled"]')).toHaveCount(1);
});

test('the first-run screen estimates the offline demo before it starts', async ({ page }) => {
  const fresh = await startWebApp();
  try {
    await page.setViewportSize({ width: 1440, height: 900 });
    await page.goto(fresh.url);
    await expect(page.getByTestId('welcome')).toBeVisible();
    // Nothing trained or embedded in this workspace: the runs by the reference rates, the embedding named as left out.
    await expect(page.getByTestId('demo-estimate')).toContainText(
      /^Estimated [\d.]+ (ms|s|min [\d]+ s) for its 10 runs \(from reference rates: nothing trained on this machine yet\), embedding not included/,
    );
    await expect(page.getByTestId('demo-estimate')).toHaveAttribute('title', /svc on random-vit-s14: [\d.]+ (ms|s)/);
  } finally {
    await fresh.stop();
  }
});
