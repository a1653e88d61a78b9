import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'vitest';

/** A fresh temporary directory; removed by the returned cleanup. */
export function tempDir(prefix = 'dinolab-test-'): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export const projectRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
export const fixtures = path.resolve(projectRoot, '../shared/fixtures');

declare module 'vitest' {
  interface TaskMeta {
    /** Why a case was skipped: read by scripts/test.mjs and scripts/test-faults.mjs from the JSON report. */
    skipReason?: string;
  }
}

/**
 * Skips the running case as a reported skip with its reason: the reason goes to the console, to the
 * case's meta (the JSON report: `npm test`'s closing count and reports/reliability.md list it) and to
 * vitest's skip note. Never returns.
 */
export function skipWithReason(ctx: TestContext, reason: string): never {
  ctx.task.meta.skipReason = reason;
  console.log(`skipped: ${reason}`);
  return ctx.skip(reason);
}
