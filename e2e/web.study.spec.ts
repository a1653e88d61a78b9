/**
 * The study view (issue 13): Compare by dataset with the study matrix and its difference toggle, 20+ runs
 * across two embedding sets in readable charts, names and notes from the Train page, "Train every kind".
 * The runs are made with `dinolab` on the app's database (raw pixels in two presets: seconds, not minutes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, test, type Page } from '@playwright/test';
import { docsShots, startWebApp, type WebApp } from './app';
import type { Study } from '../src/shared/contract';

const shots = docsShots();
let app: WebApp;
let setA = 0;
let setB = 0;
let leaky = 0;

test.beforeAll(async () => {
  test.setTimeout(10 * 60_000);
  app = await startWebApp();
  app.cliJson('import', 'sample', 'shapes10', '--train', '200', '--test', '60');
  setA = app.cliJson<{ setId: number }>('embed', '--dataset', 'Shapes-10', '--backbone', 'raw-pixels', '--preset', 'resize-224').setId;
  setB = app.cliJson<{ setId: number }>('embed', '--dataset', 'Shapes-10', '--backbone', 'raw-pixels', '--preset', 'dinov2-eval').setId;
  const train = (set: number, model: string, seed: number, ...params: string[]): number =>
    app.cliJson<{ runId: number }>('train', '--set', String(set), '--model', model, '--seed', String(seed), ...params.flatMap((p) => ['--param', p])).runId;
  for (let s = 1; s <= 8; s++) train(setA, 'mlp', s, 'epochs=6');
  for (let s = 1; s <= 4; s++) train(setA, 'keras', s, 'epochs=6');
  for (const m of ['svc', 'logreg', 'knn']) train(setA, m, 0);
  for (let s = 1; s <= 3; s++) train(setB, 'mlp', s, 'epochs=6');
  train(setB, 'keras', 1, 'epochs=6');
  train(setB, 'knn', 0);
  leaky = train(setB, 'mlp', 9, 'epochs=6', 'selectOn="test"');
});
test.afterAll(async () => {
  await app.stop();
});

const num = async (page: Page, sel: string): Promise<number> => Number(await page.locator(sel).getAttribute('data-value'));
const cellSel = (kind: string, set: number): string => `[data-testid="study-cell"][data-kind="${kind}"][data-set="${set}"]`;

test('Compare by dataset: the study matrix, the difference toggle, 21 runs in readable charts', async ({ page }) => {
  test.setTimeout(5 * 60_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Compare', exact: true }).click();
  const matrix = page.getByTestId('study-matrix');
  await expect(matrix).toBeVisible();
  await expect(matrix.getByTestId('study-col')).toHaveCount(2);
  await expect(matrix.getByTestId('study-row')).toHaveCount(5);
  expect(await matrix.getByTestId('study-row').evaluateAll((rs) => rs.map((r) => r.getAttribute('data-kind')))).toEqual(['mlp', 'keras', 'svc', 'logreg', 'knn']);
  await expect(page.getByTestId('compare-row')).toHaveCount(21);

  // The cells are the engine's (the CLI reads the same study).
  const st = app.cliJson<Study>('compare', '--dataset', 'Shapes-10');
  const value = (kind: string, col: number): number | null => st.rows.find((r) => r.kind === kind)!.cells[col]?.value ?? null;
  for (const r of st.rows) {
    for (const [j, c] of r.cells.entries()) {
      if (!c) await expect(page.locator(`[data-testid="study-cell-empty"][data-kind="${r.kind}"][data-set="${st.columns[j]!.set_id}"]`)).toBeVisible();
      else {
        expect(await num(page, cellSel(r.kind, st.columns[j]!.set_id))).toBeCloseTo(c.value, 12);
        await expect(page.locator(cellSel(r.kind, st.columns[j]!.set_id)).getByTestId('study-value')).toHaveText(`${(c.value * 100).toFixed(1)} %`);
      }
    }
  }
  // Several mlp runs on set A: the best by validation, with a count.
  await expect(page.locator(cellSel('mlp', setA)).locator('summary')).toHaveText('best by validation of 8');

  // Difference against the first column: every other cell becomes its value minus the baseline's.
  await page.getByTestId('study-diff').check();
  for (const kind of ['mlp', 'keras', 'knn']) {
    expect(await num(page, cellSel(kind, setA))).toBeCloseTo(value(kind, 0)!, 12);
    expect(await num(page, cellSel(kind, setB))).toBeCloseTo(value(kind, 1)! - value(kind, 0)!, 12);
    const d = (value(kind, 1)! - value(kind, 0)!) * 100;
    await expect(page.locator(cellSel(kind, setB)).getByTestId('study-value')).toHaveText(`${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} pt`);
  }
  await expect(page.locator(cellSel('svc', setB))).toHaveCount(0); // no svc on set B: an empty cell
  await matrix.screenshot({ path: path.join(shots, 'compare-study-difference.png') });
  // The other baseline: set A's cells become differences against set B.
  await page.getByTestId('study-baseline').selectOption(String(setB));
  expect(await num(page, cellSel('knn', setA))).toBeCloseTo(value('knn', 0)! - value('knn', 1)!, 12);
  expect(await num(page, cellSel('knn', setB))).toBeCloseTo(value('knn', 1)!, 12);
  await page.getByTestId('study-diff').uncheck();
  expect(await num(page, cellSel('knn', setA))).toBeCloseTo(value('knn', 0)!, 12);

  // Another metric: the engine's weighted F1.
  await page.getByTestId('study-metric').selectOption('f1_weighted');
  const f1 = app.cliJson<Study>('compare', '--dataset', 'Shapes-10', '--metric', 'f1_weighted');
  await expect.poll(() => num(page, cellSel('knn', setA))).toBeCloseTo(f1.rows.find((r) => r.kind === 'knn')!.cells[0]!.value, 12);
  await page.getByTestId('study-metric').selectOption('accuracy');

  // The table follows a set filter.
  await page.getByTestId('set-filter').selectOption(String(setB));
  await expect(page.getByTestId('compare-row')).toHaveCount(6);
  await page.getByTestId('set-filter').selectOption('all');
  await expect(page.getByTestId('compare-row')).toHaveCount(21);

  // The leaky run carries its badge in the table and is never marked best.
  const leakyRow = page.locator(`[data-testid="compare-row"][data-id="${leaky}"]`);
  await expect(leakyRow.getByTestId('selected-on-test')).toBeVisible();
  await expect(leakyRow.getByTestId('cell-test_accuracy')).not.toHaveClass(/best/);
  // Best marks are on test and validation only: with train shown too, no train cell is marked.
  await page.getByTestId('split-view').selectOption('both');
  await expect(page.locator('[data-testid^="cell-train_"].best')).toHaveCount(0);
  await expect(page.locator('[data-testid="cell-test_accuracy"].best').first()).toBeVisible();
  await page.getByTestId('split-view').selectOption('test');

  fs.mkdirSync(shots, { recursive: true });
  await matrix.screenshot({ path: path.join(shots, 'compare-study-matrix.png') });
  await page.screenshot({ path: path.join(shots, 'compare-study-1440x900.png') });

  // Learning curves of 21 selected runs: only the 16 that train in epochs, a legend within a quarter of the chart.
  await page.getByTestId('tab-curves').click();
  const loss = page.getByTestId('chart-curves-loss').locator('canvas');
  await expect(loss).toHaveAttribute('data-legend-share', /\d/);
  for (const id of ['chart-curves-loss', 'chart-curves-accuracy']) {
    const share = Number(await page.getByTestId(id).locator('canvas').getAttribute('data-legend-share'));
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(0.25);
  }
  await expect(page.getByTestId('curves-without')).toContainText('svc #');
  await expect(page.getByTestId('curves-without')).toContainText('logreg #');
  await page.locator('#compare-panel').screenshot({ path: path.join(shots, 'curves-21-runs.png') });

  for (const [tab, chart] of [['bars', 'chart-metrics'], ['f1', 'chart-f1']] as const) {
    await page.getByTestId(`tab-${tab}`).click();
    const canvas = page.getByTestId(chart).locator('canvas');
    await expect(canvas).toHaveAttribute('data-legend-share', /\d/);
    const share = Number(await canvas.getAttribute('data-legend-share'));
    expect(share).toBeGreaterThan(0);
    expect(share).toBeLessThanOrEqual(0.25);
  }

  // Class labels on the confusion matrices' axes are distinct.
  await page.getByTestId('tab-confusion').click();
  const cm = page.getByTestId('confusion-matrix').first();
  for (const id of ['cm-col-label', 'cm-row-label']) {
    const labels = await cm.getByTestId(id).allTextContents();
    expect(labels).toHaveLength(10);
    expect(new Set(labels).size).toBe(labels.length);
  }

  // The misclassified browser shows each selected run's prediction, runs from both sets.
  await page.getByTestId('tab-mis').click();
  await expect(page.getByTestId('mis-item').first()).toBeVisible();
  await expect(page.getByTestId('mis-item').first().locator('.preds li')).toHaveCount(20);

  await page.setViewportSize({ width: 900, height: 700 });
  await page.getByTestId('tab-curves').click();
  await page.screenshot({ path: path.join(shots, 'compare-study-900x700.png') });
});

test('Train page: train every kind, test and validation accuracy, names and notes kept and shown on Compare', async ({ page }) => {
  test.setTimeout(5 * 60_000);
  await page.setViewportSize({ width: 1440, height: 900 });
  await page.goto(app.url);
  await page.getByRole('link', { name: 'Train', exact: true }).click();
  await page.getByTestId('set-picker').selectOption(String(setA));
  const rows = page.getByTestId('runs-table').getByTestId('run');
  await expect(rows).toHaveCount(15);
  await page.getByTestId('train-all').click();
  await expect(rows).toHaveCount(20);
  await expect(page.locator('[data-testid="run"][data-status="done"]')).toHaveCount(20, { timeout: 4 * 60_000 });
  // Each kind once more, with its defaults (the study's recipe).
  const runs = app.cliJson<{ id: number; kind: string; params: Record<string, unknown>; seed: number }[]>('runs', '--set', String(setA));
  const newest = runs.slice(0, 5);
  expect(newest.map((r) => r.kind).sort()).toEqual(['keras', 'knn', 'logreg', 'mlp', 'svc']);
  for (const r of newest) expect(r.seed).toBe(0);
  expect(newest.find((r) => r.kind === 'mlp')!.params.epochs).toBe(25);

  // Test and validation accuracy as the engine measured them; the full params on hover.
  const mlp = newest.find((r) => r.kind === 'mlp')!;
  const shown = app.cliJson<{ metrics: { test: { accuracy: number } }; provenance: { params: Record<string, unknown> } }>('runs', 'show', String(mlp.id));
  const row = page.locator(`[data-testid="run"][data-id="${mlp.id}"]`);
  await expect(row.getByTestId('run-test-acc')).toHaveText(`${(shown.metrics.test.accuracy * 100).toFixed(1)} %`);
  await expect(row.getByTestId('run-val-acc')).toHaveText(/\d+\.\d %/);
  await expect(page.locator(`[data-testid="run"][data-kind="knn"]`).first().getByTestId('run-val-acc')).toHaveText('–');
  const title = await row.getByTestId('run-params').getAttribute('title');
  for (const k of Object.keys(shown.provenance.params)) expect(title).toContain(`${k} = `);

  // A name and notes, kept in the database and shown on Compare.
  await row.getByTestId('run-edit').click();
  await row.getByTestId('run-name-input').fill('default mlp');
  await row.getByTestId('run-notes-input').fill('25 epochs, best by validation');
  await row.getByTestId('run-save').click();
  await expect(row.getByTestId('run-name')).toHaveText('default mlp');
  await expect(row.getByTestId('run-notes')).toHaveText('25 epochs, best by validation');
  expect(app.cliJson<{ run: { name: string; notes: string } }>('runs', 'show', String(mlp.id)).run).toMatchObject({ name: 'default mlp', notes: '25 epochs, best by validation' });
  await page.screenshot({ path: path.join(shots, 'compare-train-runs-1440x900.png') });
  await page.getByRole('link', { name: 'Compare', exact: true }).click();
  const crow = page.locator(`[data-testid="compare-row"][data-id="${mlp.id}"]`);
  await expect(crow).toContainText('default mlp');
  await expect(crow.getByTestId('run-notes')).toHaveText('25 epochs, best by validation');
});
