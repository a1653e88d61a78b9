#!/usr/bin/env node
// `npm run setup`: install dependencies and build, on a workstation with internet and on a machine that
// reaches only the npm registry. Install scripts are off for the first pass (Electron's and
// onnxruntime-node's postinstalls download from GitHub/NuGet); then each native step that can work here
// is run on its own, and each one that cannot says so in one line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectronNative, electronDownloadNote, electronInstall } from './electron-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_onnxruntime_node_install: 'skip' };
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const notes = [];

function run(cmd, args, { quiet = false, timeoutMs = 15 * 60_000, extraEnv = {} } = {}) {
  const r = spawnSync(cmd, args, { stdio: quiet ? 'pipe' : 'inherit', env: { ...env, ...extraEnv }, timeout: timeoutMs, encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`, status: r.status };
}
function step(title) {
  console.log(`\n== ${title}`);
}

step('Installing dependencies (install scripts off)');
const lock = fs.existsSync('package-lock.json');
const inst = run(npm, [lock ? 'ci' : 'install', '--ignore-scripts', '--no-audit', '--no-fund']);
if (!inst.ok) {
  console.error('npm could not install the dependencies: see the messages above.');
  process.exit(1);
}

step('Building better-sqlite3 for Node');
const sqlite = run(npm, ['rebuild', 'better-sqlite3'], { quiet: true });
if (!sqlite.ok) {
  console.error(sqlite.out.slice(-3000));
  console.error('better-sqlite3 could not be built: install a C++ toolchain (python3, make, g++) and run npm run setup again.');
  process.exit(1);
}
console.log('better-sqlite3 ready.');

step('Electron');
const electronDir = path.join(root, 'node_modules', 'electron');
const electronPkg = JSON.parse(fs.readFileSync(path.join(electronDir, 'package.json'), 'utf8'));
const electron = run(process.execPath, [path.join(electronDir, 'install.js')], { quiet: true, timeoutMs: 10 * 60_000 });
const install = electronInstall(root);
if (electron.ok && install.bin) {
  console.log(`Electron ${install.version} binary installed.`);
} else {
  const why = (electron.out.match(/(getaddrinfo [A-Z_]+ [^\s]+|ECONNREFUSED[^\n]*|HTTPError[^\n]*|ETIMEDOUT[^\n]*|fetch failed|SyntaxError[^\n]*)/) ?? [install.why ?? 'download failed'])[0];
  notes.push(electronDownloadNote(why, { electronEngines: electronPkg.engines?.node }));
  console.log(notes.at(-1));
}

if (install.bin) {
  step(`Building better-sqlite3 for Electron ${install.version} (the engine runs in an Electron utility process)`);
  const r = buildElectronNative(root, install, { env, log: (m) => console.log(m) });
  if (r.ok) console.log(`better-sqlite3 for Electron ready (verified with Electron ${r.stamp.electron}, ABI ${r.stamp.abi}): npm start opens the desktop window.`);
  else {
    console.error(r.tail);
    notes.push(`better-sqlite3 for Electron could not be built (${r.why}; the output's end is above): npm start uses the web host. A C++ toolchain (python3, make, g++) and access to electronjs.org/headers fix it.`);
    console.log(notes.at(-1));
  }
}

step('TensorFlow.js native backend (optional)');
if (fs.existsSync(path.join(root, 'node_modules', '@tensorflow', 'tfjs-node'))) {
  const tf = run(npm, ['rebuild', '@tensorflow/tfjs-node'], { quiet: true, timeoutMs: 10 * 60_000 });
  if (tf.ok) console.log('tfjs-node installed: training uses TensorFlow (C++).');
  else {
    notes.push('@tensorflow/tfjs-node could not download libtensorflow; training uses the WebAssembly (SIMD) backend.');
    console.log(notes.at(-1));
  }
} else {
  console.log('tfjs-node not installed; training uses the WebAssembly (SIMD) backend.');
}
console.log('onnxruntime-node: CPU and WebGPU providers are bundled; for CUDA 12 + cuDNN 9 run `npm run setup:cuda`.');

step('Building the app');
const build = run(npm, ['run', 'build']);
if (!build.ok) {
  console.error('The build failed: see the messages above.');
  process.exit(1);
}

console.log('\nSetup complete.' + (notes.length ? `\nNotes:\n- ${notes.join('\n- ')}` : ''));
console.log('Next: npm start (the app) or npm test (every test).');
