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
/** Every skipped case with its reason, listed before the closing count. */
const skips = [];

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
  for (const f of j.testResults ?? []) {
    for (const t of f.assertionResults ?? []) {
      if (t.status === 'passed' || t.status === 'failed') continue;
      skips.push(`${path.relative(root, f.name)} > ${t.title}: ${t.meta?.skipReason ?? 'no reason given'}`);
    }
  }
  return true;
}

function countPlaywright(file) {
  if (!fs.existsSync(file)) return false;
  const s = JSON.parse(fs.readFileSync(file, 'utf8')).stats;
  passed += s.expected + s.flaky;
  failed += s.unexpected;
  skipped += s.skipped;
  const walk = (suite) => {
    for (const spec of suite.specs ?? []) {
      for (const t of spec.tests ?? []) {
        if (t.status !== 'skipped') continue;
        const why = (t.annotations ?? []).filter((a) => a.type === 'skip').map((a) => a.description).filter(Boolean);
        skips.push(`${path.join('e2e', spec.file)} > ${t.projectName ? `[${t.projectName}] ` : ''}${spec.title}: ${why.join('; ') || 'no reason given'}`);
      }
    }
    for (const child of suite.suites ?? []) walk(child);
  };
  for (const suite of JSON.parse(fs.readFileSync(file, 'utf8')).suites ?? []) walk(suite);
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
if (skips.length) console.log(`\nskipped:\n${skips.map((x) => `  ${x}`).join('\n')}`);
console.log(`\ntests: ${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));
process.exit(failed ? 1 : 0);
