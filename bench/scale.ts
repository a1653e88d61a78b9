/**
 * The study at full size, on synthetic data (seeded Gaussian blobs, 10 classes; NOT CIFAR-10): every
 * classifier kind with default params on 50,000 x 384 and 50,000 x 3,072 training rows (+10,000 test
 * rows), each in its own process: fit, predict and evaluate seconds, peak RSS of that process (its
 * high-water mark, against the bound 1 GB + 2x the training matrix), the engine, the saved model's size.
 * A kind past SCALE_TIMEOUT_S (default 1800 s) is stopped and reported as such.
 * Env: SCALE_ROWS (50000), SCALE_DIMS (384,3072), SCALE_KINDS (all), SCALE_MAX_ROWS (a row cap, as --max-rows).
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { CLASSIFIER_KINDS } from '../src/shared/contract';
import type { BenchResult } from './run';

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.SCALE_ROWS ?? 50_000);
  const dims = (process.env.SCALE_DIMS ?? '384,3072').split(',').map(Number);
  const kinds = (process.env.SCALE_KINDS ?? CLASSIFIER_KINDS.join(',')).split(',');
  const cap = process.env.SCALE_MAX_ROWS;
  const timeoutS = Number(process.env.SCALE_TIMEOUT_S ?? 1800);
  const child = path.join(import.meta.dirname, 'lib', 'scale-child.ts');
  const rows: Record<string, string | number>[] = [];
  for (const d of dims) {
    for (const kind of kinds) {
      const t0 = performance.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', child, kind, String(n), String(d), ...(cap ? [cap] : [])], {
        encoding: 'utf8',
        timeout: timeoutS * 1000,
        maxBuffer: 1 << 24,
      });
      const wall = (performance.now() - t0) / 1000;
      const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      if (r.status === 0 && line) {
        const o = JSON.parse(line) as Record<string, number | string>;
        const bound = 1024 + 2 * Number(o.trainMatrixMB);
        rows.push({
          data: 'synthetic blobs',
          kind,
          rows: Number(o.trainRows),
          dim: d,
          engine: String(o.backend),
          fit_s: +Number(o.fitS).toFixed(1),
          predict_s: +Number(o.predictS).toFixed(1),
          evaluate_s: +Number(o.evaluateS).toFixed(1),
          wall_s: +wall.toFixed(1),
          cpu_s: o.cpuS === undefined ? '-' : +Number(o.cpuS).toFixed(1),
          peak_rss_mb: Number(o.peakRssMB),
          rss_bound_mb: bound,
          model_mb: +Number(o.modelMB).toFixed(1),
          test_acc: +Number(o.testAccuracy).toFixed(4),
          train_acc: +Number(o.trainAccuracy).toFixed(4),
        });
      } else {
        const why = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `stopped after ${timeoutS} s` : `failed (exit ${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
        rows.push({ data: 'synthetic blobs', kind, rows: cap ? Number(cap) : n, dim: d, engine: '-', fit_s: '-', predict_s: '-', evaluate_s: '-', wall_s: +wall.toFixed(1), peak_rss_mb: '-', rss_bound_mb: '-', model_mb: '-', test_acc: '-', train_acc: why });
      }
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  }
  return { rows, json: { data: 'synthetic Gaussian blobs, 10 classes (not CIFAR-10)', n, dims, cap: cap ?? null, timeoutS } };
}
