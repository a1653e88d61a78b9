/**
 * The dense nets' onnxruntime training step (mlp-onnx.ts) by input width, thread count and layer-1 chunk size:
 * milliseconds per batch-64 step of Linear(D, 256) -> ReLU -> Linear(256, 10) with Adam, on synthetic rows
 * (uniform noise, said so; the step's cost does not depend on the values once subnormals are flushed). It
 * shows what threadChoices and adamChunkFloats offer: each row is one fixed configuration, then the default
 * (the trainer measuring its choices and running the faster), with how it shared the runs. Env:
 * MLP_STEP_DIMS (384,768,1536,3072), MLP_STEP_STEPS (200 per timed epoch, best of 3), MLP_STEP_BUSY (0: that
 * many busy-looping processes run beside the measurements, as another program taking the cores would).
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { OnnxMlpTrainer } from '../src/core/classifiers/mlp/mlp-onnx';
import { adamChunkFloats } from '../src/core/classifiers/mlp/mlp-onnx-options';
import type { BenchResult } from './run';

const H = 256;
const C = 10;
const B = 64;

/** Best milliseconds a step over 3 timed epochs (after one warm-up) with `threads` and `chunkFloats`, or the default choice when undefined. */
async function msPerStep(D: number, threads: number | undefined, chunkFloats: number | undefined, steps: number): Promise<{ ms: number; use: string }> {
  const N = steps * B;
  let s = 1;
  const rnd = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5;
  const X = Float32Array.from({ length: N * D }, rnd);
  const y = Int32Array.from({ length: N }, (_, i) => i % C);
  const w1 = Float32Array.from({ length: (D + 1) * H }, () => rnd() * 0.05);
  const w2 = Float32Array.from({ length: (H + 1) * C }, () => rnd() * 0.1);
  const perm = Int32Array.from({ length: N }, (_, i) => (i * 7919) % N);
  const t = await OnnxMlpTrainer.create({ rows: N, cols: D, data: X }, y, H, C, B, { lr: 1e-3, b1: 0.9, b2: 0.999, eps: 1e-8 }, w1, w2, { threads, chunkFloats });
  if (!t) throw new Error('onnxruntime-node did not load');
  await t.epoch(perm); // warm-up
  let best = Infinity;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    await t.epoch(perm);
    best = Math.min(best, (performance.now() - t0) / steps);
  }
  const use = t.threadUse();
  await t.dispose();
  return { ms: best, use };
}

export async function run(): Promise<BenchResult> {
  const dims = (process.env.MLP_STEP_DIMS ?? '384,768,1536,3072').split(',').map(Number);
  const steps = Number(process.env.MLP_STEP_STEPS ?? 200);
  const cores = os.availableParallelism();
  const busy = Number(process.env.MLP_STEP_BUSY ?? 0);
  const burners = Array.from({ length: busy }, () => spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' }));
  const rows: Record<string, string | number>[] = [];
  try {
  for (const D of dims) {
    const configs: [number | undefined, number | undefined][] = [
      [1, adamChunkFloats(1, H)],
      [1, 1 << 30],
      ...(cores > 1 ? ([[cores, adamChunkFloats(1, H)], [cores, adamChunkFloats(cores, H)], [cores, 1 << 30]] as [number, number][]) : []),
      [undefined, undefined],
    ];
    for (const [threads, chunk] of configs) {
      const { ms, use } = await msPerStep(D, threads, chunk, steps);
      const row = {
        data: 'synthetic',
        D,
        H,
        threads: threads ?? 'default: faster as measured',
        chunk_floats: chunk === undefined ? 'per thread count' : chunk >= 1 << 30 ? 'unchunked' : chunk,
        ms_per_step: +ms.toFixed(3),
        runs: threads === undefined ? use : '',
        load: os.loadavg()[0]!.toFixed(2),
        busy_processes: busy,
      };
      console.error(`[bench mlp-step] ${JSON.stringify(row)}`);
      rows.push(row);
    }
  }
  } finally {
    for (const b of burners) b.kill();
  }
  return { rows, json: { synthetic: true, busyProcesses: busy, hidden: H, classes: C, batch: B, stepsPerEpoch: steps, cores, rows } };
}
