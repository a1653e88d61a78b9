#!/usr/bin/env node
// `npm start`: the desktop window where Electron can run here, else the web host (its URL is printed).
// Extra arguments go to the app, e.g. `npm start -- --db /tmp/lab.db --port 8080`.
// Electron's binary is resolved through require('electron') (so ELECTRON_OVERRIDE_DIST_PATH works), and
// the window is launched only when better-sqlite3 was built and verified for that very Electron (the
// stamp written by setup) and Chromium's sandbox can start; otherwise one line says why and the web host
// starts. A window that dies (by a signal, or with an error) makes npm start exit non-zero with a message.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SUID_ERROR, electronInstall, nativeProblem, sandboxFix, sandboxProblem } from './electron-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) {
  console.error('DINO Lab is not built yet: run npm run setup first.');
  process.exit(1);
}

const exitCodeOf = (code, signal) => (signal ? 128 + (os.constants.signals[signal] ?? 1) : (code ?? 1));

function webHost(reason) {
  if (reason) console.log(`The desktop window cannot open: ${reason}.`);
  console.log('Starting the web host instead: open the URL below in your browser.');
  const child = spawn(process.execPath, [path.join(root, 'out', 'main', 'cli.js'), 'serve', ...args], { stdio: 'inherit' });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('exit', (code, signal) => process.exit(exitCodeOf(code, signal)));
}

function desktop(bin) {
  // An inherited ELECTRON_RUN_AS_NODE (set by some editors' terminals) would run Electron as plain Node.
  const env = { ...process.env };
  delete env.ELECTRON_RUN_AS_NODE;
  const child = spawn(bin, [root, ...args], { stdio: ['inherit', 'inherit', 'pipe'], env });
  let errTail = '';
  child.stderr.on('data', (chunk) => {
    process.stderr.write(chunk);
    errTail = (errTail + chunk.toString()).slice(-16_384);
  });
  for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
  child.on('error', (err) => {
    console.error(`Electron could not be started (${err.message}).`);
    webHost();
  });
  child.on('exit', (code, signal) => {
    if (code === 0) process.exit(0);
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (SUID_ERROR.test(errTail)) {
      const helper = errTail.match(/make sure that (\S+chrome-sandbox) is owned by root/)?.[1] ?? path.join(path.dirname(bin), 'chrome-sandbox');
      console.error(`The desktop window ${how}: Chromium's setuid sandbox helper is not root-owned with mode 4755. Fix it once with:\n  ${sandboxFix(helper)}\n(or run DINOLAB_WEB=1 npm start for the web host).`);
    } else {
      console.error(`The desktop window ${how}. See the messages above; DINOLAB_WEB=1 npm start serves the same UI in your browser.`);
    }
    process.exit(exitCodeOf(code, signal));
  });
}

if (process.env.DINOLAB_WEB) webHost();
else {
  const install = electronInstall(root);
  const native = install.bin ? nativeProblem(root, install) : null;
  const sandbox = install.bin && !native ? sandboxProblem(install.bin) : null;
  if (install.why || native) webHost(install.why ?? native);
  else if (sandbox) {
    console.error(`${sandbox.why}.\nFix it once with:\n  ${sandbox.fix}`);
    webHost('see above');
  } else desktop(install.bin);
}
