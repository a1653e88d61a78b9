#!/usr/bin/env node
// `npm start`: the desktop window where Electron's binary is installed, else the web host (its URL is
// printed). Extra arguments go to the app, e.g. `npm start -- --db /tmp/lab.db --port 8080`.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
if (!fs.existsSync(path.join(root, 'out', 'main', 'cli.js'))) {
  console.error('DINO Lab is not built yet: run npm run setup first.');
  process.exit(1);
}
const electronDir = path.join(root, 'node_modules', 'electron');
const hasElectron =
  !process.env.DINOLAB_WEB &&
  fs.existsSync(path.join(electronDir, 'path.txt')) &&
  fs.existsSync(path.join(root, 'build', 'electron-native', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));

let child;
if (hasElectron) {
  const bin = path.join(electronDir, 'dist', fs.readFileSync(path.join(electronDir, 'path.txt'), 'utf8').trim());
  child = spawn(bin, [root, ...args], { stdio: 'inherit' });
} else {
  console.log('Electron is not available here: starting the web host. Open the URL below in your browser.');
  child = spawn(process.execPath, [path.join(root, 'out', 'main', 'cli.js'), 'serve', ...args], { stdio: 'inherit' });
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code) => process.exit(code ?? 0));
