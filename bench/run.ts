/**
 * Benchmark harness: `npm run bench -- <name> [<name> ...]` imports bench/<name>.ts, calls its run(),
 * prints the rows as a table and writes bench/results/<name>.json (with machine facts and the date).
 * Times are only comparable within one run: each benchmark measures its own reference beside it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { table } from '../src/cli/format';

export interface BenchResult {
  rows: Record<string, string | number>[];
  json: unknown;
}

const dir = import.meta.dirname;
const names = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const available = fs
  .readdirSync(dir)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.endsWith('.test.ts'))
  .map((f) => f.replace(/\.ts$/, ''));
if (!names.length) {
  console.log(`Usage: npm run bench -- <name>\nAvailable: ${available.join(', ')}`);
  process.exit(2);
}
fs.mkdirSync(path.join(dir, 'results'), { recursive: true });
let failed = 0;
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`No benchmark "${name}". Available: ${available.join(', ')}`);
    failed++;
    continue;
  }
  const mod = (await import(pathToFileURL(path.join(dir, `${name}.ts`)).href)) as { run: () => Promise<BenchResult> };
  console.log(`\n# ${name}`);
  const t0 = performance.now();
  const res = await mod.run();
  console.log(table(res.rows));
  // BENCH_TAG=cpu writes bench/results/<name>-cpu.json, so runs of one bench in other settings sit side by side.
  const out = path.join(dir, 'results', `${name}${process.env.BENCH_TAG ? `-${process.env.BENCH_TAG}` : ''}.json`);
  fs.writeFileSync(
    out,
    JSON.stringify(
      {
        name,
        date: new Date().toISOString(),
        machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memGiB: Math.round(os.totalmem() / 2 ** 30), node: process.versions.node, platform: `${process.platform}-${process.arch}` },
        seconds: (performance.now() - t0) / 1000,
        // Peak RSS of this process since it started (benchmarks run earlier in the same call included).
        processPeakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
        note: 'Shared machine: times are comparable only as ratios within one run.',
        rows: res.rows,
        result: res.json,
      },
      null,
      2,
    ),
  );
  console.log(`wrote ${path.relative(process.cwd(), out)}`);
}
process.exit(failed ? 1 : 0);
