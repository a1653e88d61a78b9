#!/usr/bin/env node
// `npm test`: typecheck, lint, build, unit + integration tests, the fault suite (writes
// reports/reliability.md) and the browser e2e tests; ends with one line counting every test.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
fs.mkdirSync('test-results', { recursive: true });
const bin = (n) => path.join(root, 'node_modules', '.bin', n);
let passed = 0;
let failed = 0;
let skipped = 0;
const summary = [];

function run(title, cmd, args, env = {}) {
  console.log(`\n== ${title}`);
  const t0 = Date.now();
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  const ok = r.status === 0;
  summary.push(`${ok ? 'ok  ' : 'FAIL'} ${title} (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  return ok;
}

/** A check that is not a test runner counts as one test. */
function check(title, cmd, args) {
  if (run(title, cmd, args)) passed++;
  else failed++;
}

function countVitest(file) {
  if (!fs.existsSync(file)) return false;
  const j = JSON.parse(fs.readFileSync(file, 'utf8'));
  passed += j.numPassedTests;
  failed += j.numFailedTests + (j.numTotalTestSuites && !j.success && !j.numFailedTests ? 1 : 0);
  skipped += j.numPendingTests + j.numTodoTests;
  return true;
}

function countPlaywright(file) {
  if (!fs.existsSync(file)) return false;
  const s = JSON.parse(fs.readFileSync(file, 'utf8')).stats;
  passed += s.expected + s.flaky;
  failed += s.unexpected;
  skipped += s.skipped;
  return true;
}

check('typecheck (tsc node + svelte-check web)', 'npm', ['run', '--silent', 'typecheck']);
check('lint (eslint)', bin('eslint'), ['.']);
const built = run('build', 'npm', ['run', '--silent', 'build']);
if (!built) failed++;

for (const f of ['test-results/unit.json', 'test-results/faults.json', 'test-results/e2e.json']) fs.rmSync(f, { force: true });
run('unit and integration tests (vitest)', bin('vitest'), ['run', '--reporter=default', '--reporter=json', '--outputFile.json=test-results/unit.json']);
if (!countVitest('test-results/unit.json')) failed++;

run('fault suite (writes reports/reliability.md)', process.execPath, ['scripts/test-faults.mjs']);
if (!countVitest('test-results/faults.json')) failed++;

if (built) {
  run('e2e (Playwright, Debian Chromium, web host)', bin('playwright'), ['test']);
  if (!countPlaywright('test-results/e2e.json')) failed++;
}

console.log('\n' + summary.join('\n'));
console.log(`\ntests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed ? 1 : 0);
