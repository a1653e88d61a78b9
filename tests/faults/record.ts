/** Records what a fault test tried and checked, for reports/reliability.md. */
import fs from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';

export function record(d: { fault: string; outcome: string; checked: string }): void {
  const file = process.env.DINOLAB_FAULT_DETAILS;
  const test = expect.getState().currentTestName?.split(' > ').at(-1) ?? 'unknown';
  if (!file) return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, JSON.stringify({ test, ...d }) + '\n');
}
