/**
 * Seeded mutation fuzzing (issue 7) of the CIFAR binary records parser, the pickle parser and the
 * image-folder importer, each through importDataset. Cases run in a child process (fuzz-child.ts) that
 * reports the start and end of every case; a case that does not end within 10 s kills the child and
 * fails the test naming the case, so a synchronous hang cannot stall the suite. Every case must end in
 * a dataset or a LabError with a message; RSS growth must stay under 500 MB.
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../helpers';
import { record } from './record';

const t = tempDir('dinolab-fuzz-');
afterAll(() => t.cleanup());

const CASES = 300;
const CASE_LIMIT_MS = 10_000;
const RSS_LIMIT = 500 * 1024 * 1024;

interface End {
  type: 'end';
  i: number;
  ms: number;
  kind: 'dataset' | 'laberror' | 'other';
  code?: string;
  message?: string;
}

async function fuzz(target: string, seed: number): Promise<{ ends: End[]; starts: Map<number, string>; rssGrowth: number; seconds: number; hung: string | null; crash: string | null }> {
  const child = fork(path.join(projectRoot, 'tests/faults/fuzz-child.ts'), [target, String(seed), String(CASES), t.dir], {
    execArgv: ['--import', 'tsx'],
    cwd: projectRoot,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ends: End[] = [];
  const starts = new Map<number, string>();
  let current: { i: number; at: number } | null = null;
  let rssGrowth = 0;
  let hung: string | null = null;
  let crash: string | null = null;
  const t0 = performance.now();
  const watchdog = setInterval(() => {
    if (current && Date.now() - current.at > CASE_LIMIT_MS) {
      hung = `case ${current.i} (${starts.get(current.i)}) did not end within ${CASE_LIMIT_MS} ms`;
      child.kill('SIGKILL');
    }
  }, 200);
  child.on('message', (m: { type: string; i?: number; file?: string; ops?: string; rssStart?: number; rssMax?: number; message?: string }) => {
    if (m.type === 'start') {
      current = { i: m.i!, at: Date.now() };
      starts.set(m.i!, `${m.file}: ${m.ops}`);
    } else if (m.type === 'end') {
      current = null;
      ends.push(m as End);
    } else if (m.type === 'summary') rssGrowth = m.rssMax! - m.rssStart!;
    else if (m.type === 'crash') crash = m.message!;
  });
  await new Promise((r) => child.once('exit', r));
  clearInterval(watchdog);
  return { ends, starts, rssGrowth, seconds: (performance.now() - t0) / 1000, hung, crash };
}

function summarize(ends: End[]): string {
  const by = new Map<string, number>();
  for (const e of ends) {
    const k = e.kind === 'dataset' ? 'dataset' : e.kind === 'laberror' ? e.code! : 'OTHER';
    by.set(k, (by.get(k) ?? 0) + 1);
  }
  return [...by].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
}

function check(target: string, seed: number, r: Awaited<ReturnType<typeof fuzz>>, what: string): void {
  const others = r.ends.filter((e) => e.kind === 'other').map((e) => `case ${e.i} (${r.starts.get(e.i)}): ${e.message}`);
  const silent = r.ends.filter((e) => e.kind === 'laberror' && !e.message?.trim());
  const slowest = Math.max(...r.ends.map((e) => e.ms));
  record({
    fault: `${CASES} seeded mutations (seed ${seed}; bit flips, byte insert/delete, truncation, length-field corruption) of ${what}`,
    outcome: `${summarize(r.ends)}${r.hung ? `; HANG: ${r.hung}` : ''}${r.crash ? `; CRASH: ${r.crash.slice(0, 200)}` : ''}${others.length ? `; ${others.length} non-LabError` : ''}`,
    checked: `every case ended (slowest ${slowest.toFixed(0)} ms, all ${r.seconds.toFixed(1)} s) in a dataset or a LabError with a message; RSS growth ${(r.rssGrowth / 2 ** 20).toFixed(0)} MB (< 500 MB)`,
  });
  expect(r.hung, target).toBeNull();
  expect(r.crash, target).toBeNull();
  expect(others, target).toEqual([]);
  expect(silent, target).toEqual([]);
  expect(r.ends).toHaveLength(CASES);
  expect(r.rssGrowth).toBeLessThan(RSS_LIMIT);
}

describe('fuzzing', () => {
  it('CIFAR-10 binary records (folder of six 20-record .bin batches)', async () => {
    const r = await fuzz('cifar-bin', 7);
    check('cifar-bin', 7, r, 'one .bin batch per case');
  });

  it('CIFAR-10 python batches (pickle parser)', async () => {
    const r = await fuzz('pickle', 11);
    check('pickle', 11, r, 'one pickled batch or batches.meta per case');
  });

  it('image-folder importer (PNG and JPEG files in class folders)', async () => {
    const r = await fuzz('folder', 13);
    check('folder', 13, r, 'one image file per case, badImages alternating error/skip');
  });
});
