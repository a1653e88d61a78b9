/** The offline demo from an empty database to a filled Compare page (issue 6 acceptance). */
import { expect, test } from '@playwright/test';
import path from 'node:path';
import { docsShots, fullShot, startWebApp, type WebApp } from './app';
import type { Study } from '../src/shared/contract';

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
  // Shapes-10 and its out-of-distribution pair (embedded with the same baselines, no runs of its own).
  await expect(page.getByTestId('dataset')).toHaveCount(2);
  await expect(page.getByTestId('dataset-name')).toHaveText(['Shapes-10 demo', 'Shapes-OOD demo']);
  await page.getByTestId('jobs-toggle').click(); // close the drawer
  await fullShot(page, 'demo-datasets');

  await page.getByTestId('open-compare').click();
  await expect(page.getByTestId('page-compare')).toBeVisible();
  // Compare by dataset: the study matrix of Shapes-10 with both baseline columns and every kind.
  const matrix = page.getByTestId('study-matrix');
  await expect(matrix).toBeVisible();
  const cols = matrix.getByTestId('study-col');
  await expect(cols).toHaveCount(2);
  expect(await cols.evaluateAll((cs) => cs.map((c) => c.getAttribute('data-backbone')))).toEqual(['raw-pixels', 'random-vit-s14']);
  const kinds = ['mlp', 'keras', 'svc', 'logreg', 'knn'];
  expect(await matrix.getByTestId('study-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')))).toEqual(kinds);
  await expect(matrix.getByTestId('study-cell')).toHaveCount(10);

  // The CLI's study of the same dataset: runs from both sets, each with its provenance.
  const st = app.cliJson<Study>('compare', '--dataset', 'Shapes-10 demo');
  expect(st.runs).toHaveLength(10);
  const [rawSet, vitSet] = st.columns.map((c) => c.set_id) as [number, number];
  for (const set of [rawSet, vitSet]) expect(st.runs.filter((r) => r.set_id === set).map((r) => r.kind).sort()).toEqual([...kinds].sort());
  for (const r of st.runs) {
    expect(r.status).toBe('done');
    expect(r.provenance).toMatchObject({ dataset: { name: 'Shapes-10 demo' }, kind: r.kind, seed: r.seed, snapshot: true, embedding_set: { id: r.set_id, preset: 'resize-224' } });
    expect(r.provenance.dataset.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(r.provenance.backend).toBeTruthy();
    expect(r.provenance.app_version).toBeTruthy();
    expect(r.provenance.command).toMatch(new RegExp(`^dinolab train --set ${r.set_id} --model ${r.kind} `));
    expect(r.metrics.test).not.toBeNull();
    expect(r.metrics.train).not.toBeNull();
  }
  const cell = (kind: string, set: number) => matrix.locator(`[data-testid="study-cell"][data-kind="${kind}"][data-set="${set}"]`);
  const value = (kind: string, j: number): number => st.rows.find((r) => r.kind === kind)!.cells[j]!.value;
  for (const kind of kinds) {
    expect(Number(await cell(kind, rawSet).getAttribute('data-value'))).toBeCloseTo(value(kind, 0), 12);
    expect(Number(await cell(kind, vitSet).getAttribute('data-value'))).toBeCloseTo(value(kind, 1), 12);
  }
  // The difference toggle: the random-ViT column becomes its value minus raw pixels' (the baseline).
  await matrix.getByTestId('study-diff').check();
  for (const kind of kinds) {
    expect(Number(await cell(kind, rawSet).getAttribute('data-value'))).toBeCloseTo(value(kind, 0), 12);
    expect(Number(await cell(kind, vitSet).getAttribute('data-value'))).toBeCloseTo(value(kind, 1) - value(kind, 0), 12);
    const d = (value(kind, 1) - value(kind, 0)) * 100;
    await expect(cell(kind, vitSet).getByTestId('study-value')).toHaveText(`${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} pt`);
  }
  await matrix.getByTestId('study-diff').uncheck();

  // The table holds both sets' runs; per set, the cells are the CLI's.
  await expect(page.getByTestId('compare-row')).toHaveCount(10);
  for (const set of [rawSet, vitSet]) {
    await page.getByTestId('set-filter').selectOption(String(set));
    const rows = page.getByTestId('compare-row');
    await expect(rows).toHaveCount(5);
    const cli = app.cliJson<{ id: number; kind: string; status: string; test_accuracy: number }[]>('compare', '--set', String(set));
    expect(cli.map((r) => r.kind).sort()).toEqual([...kinds].sort());
    for (const r of cli) {
      expect(r.status).toBe('done');
      const c = page.locator(`[data-testid="compare-row"][data-id="${r.id}"]`).getByTestId('cell-test_accuracy');
      await expect(c).toHaveText(`${(r.test_accuracy * 100).toFixed(1)} %`);
    }
  }
  await page.getByTestId('set-filter').selectOption('all');
  await expect(page.getByTestId('chart-metrics')).toBeVisible();
  await page.setViewportSize({ width: 1440, height: 900 });
  await matrix.screenshot({ path: path.join(docsShots(), 'compare-demo-study.png') });
  await page.screenshot({ path: path.join(docsShots(''), 'screenshot.png') });
  await fullShot(page, 'demo-compare');

  // The OOD page has content offline: Shapes-10 (raw pixels) against the demo's Shapes-OOD pair.
  await page.getByRole('link', { name: 'OOD', exact: true }).click();
  await page.getByTestId('ood-set').selectOption(String(rawSet));
  await expect(page.getByTestId('ood-ood-set')).toContainText('Shapes-OOD demo');
  const logreg = st.runs.find((r) => r.set_id === rawSet && r.kind === 'logreg')!.id;
  await page.getByLabel(`logreg #${logreg}`, { exact: true }).check();
  await page.getByTestId('ood-run').click();
  await expect(page.getByTestId('ood-table')).toContainText('mahalanobis', { timeout: 60_000 });
  await expect(page.getByTestId('ood-table')).toContainText(`energy:run-${logreg}`);
  await expect(page.getByTestId('ood-table')).toContainText(`msp:run-${logreg}`);
  await fullShot(page, 'demo-ood');
});
