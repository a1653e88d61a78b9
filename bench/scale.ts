/**
 * The study at full size, on synthetic data (seeded Gaussian blobs, 10 classes; NOT CIFAR-10): every
 * classifier kind with default params on 50,000 x 384 and 50,000 x 3,072 training rows (+10,000 test
 * rows), each in its own process: fit, predict and evaluate seconds, peak RSS of that process (its
 * high-water mark, against the bound 1 GB + 2x the training matrix), the engine, the saved model's size.
 * A kind past SCALE_TIMEOUT_S (default 1800 s) is stopped and reported as such.
 * Each row also has what the pre-start estimate says from the committed reference rates alone
 * (src/core/runs/reference-rates.json: what a machine with no finished run of the kind is told), beside
 * the measured wall time, and the load average before and after each kind (a shared machine).
 * Env: SCALE_ROWS (50000), SCALE_DIMS (384,3072), SCALE_KINDS (all), SCALE_MAX_ROWS: a row cap (as
 * --max-rows) for every kind ("20000"), or per kind and dim ("svc@3072=20000,logreg@3072=30000").
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { CLASSIFIER_KINDS, isClassifierKind } from '../src/shared/contract';
import { estimateForSize } from '../src/core/runs/estimate';
import type { BenchResult } from './run';

/** The row cap of a kind at a dim from SCALE_MAX_ROWS ("N" for all, or "kind@dim=N,..."), or null. */
export function capFor(spec: string | undefined, kind: string, dim: number): number | null {
  if (!spec) return null;
  if (/^\d+$/.test(spec.trim())) return Number(spec);
  for (const part of spec.split(',')) {
    const m = /^\s*(\w+)@(\d+)=(\d+)\s*$/.exec(part);
    if (m && m[1] === kind && Number(m[2]) === dim) return Number(m[3]);
  }
  return null;
}

const load = (): string => os.loadavg().map((x) => x.toFixed(2)).join(' ');

export async function run(): Promise<BenchResult> {
  const n = Number(process.env.SCALE_ROWS ?? 50_000);
  const dims = (process.env.SCALE_DIMS ?? '384,3072').split(',').map(Number);
  const kinds = (process.env.SCALE_KINDS ?? CLASSIFIER_KINDS.join(',')).split(',');
  const capSpec = process.env.SCALE_MAX_ROWS;
  const timeoutS = Number(process.env.SCALE_TIMEOUT_S ?? 1800);
  const child = path.join(import.meta.dirname, 'lib', 'scale-child.ts');
  const rows: Record<string, string | number>[] = [];
  for (const d of dims) {
    for (const kind of kinds) {
      const cap = capFor(capSpec, kind, d);
      const nRows = cap ? Math.min(cap, n) : n;
      const est = isClassifierKind(kind) ? estimateForSize(kind, { trainRows: n, testRows: 10_000, dim: d }, [], cap).estimate : null;
      const loadBefore = load();
      const t0 = performance.now();
      const r = spawnSync(process.execPath, ['--import', 'tsx', child, kind, String(n), String(d), ...(cap ? [String(cap)] : [])], {
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
          estimate_s: est?.seconds ? Math.round(est.seconds) : '-',
          cpu_s: o.cpuS === undefined ? '-' : +Number(o.cpuS).toFixed(1),
          peak_rss_mb: Number(o.peakRssMB),
          rss_bound_mb: bound,
          model_mb: +Number(o.modelMB).toFixed(1),
          test_acc: +Number(o.testAccuracy).toFixed(4),
          train_acc: +Number(o.trainAccuracy).toFixed(4),
          row_cap: cap ?? '-',
          load_before: loadBefore,
          load_after: load(),
          threads: o.threads === undefined ? '-' : String(o.threads),
        });
      } else {
        const why = r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `stopped after ${timeoutS} s` : `failed (exit ${r.status ?? r.signal}): ${r.stderr.trim().split('\n').slice(-2).join(' ')}`;
        rows.push({ data: 'synthetic blobs', kind, rows: nRows, dim: d, engine: '-', fit_s: '-', predict_s: '-', evaluate_s: '-', wall_s: +wall.toFixed(1), estimate_s: est?.seconds ? Math.round(est.seconds) : '-', peak_rss_mb: '-', rss_bound_mb: '-', model_mb: '-', test_acc: '-', train_acc: why, row_cap: cap ?? '-', load_before: loadBefore, load_after: load() });
      }
      console.log(JSON.stringify(rows[rows.length - 1]));
    }
  }
  return {
    rows,
    json: {
      data: 'synthetic Gaussian blobs, 10 classes (not CIFAR-10)',
      n,
      dims,
      caps: capSpec ?? null,
      timeoutS,
      estimate: 'estimate_s: the pre-start estimate from the committed reference rates alone (src/core/runs/reference-rates.json), for the same rows',
      load: 'load_before/load_after: 1, 5 and 15 min load averages (os.loadavg) around each kind; the machine is shared by other work',
      threads: 'mlp and keras: how the onnxruntime training steps were shared between 1 thread and every core (runs of 64 steps, smoothed ms a step)',
    },
  };
}
