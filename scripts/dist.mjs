#!/usr/bin/env node
// `npm run dist`: the Linux package, built with electron-builder into dist/: the unpacked layout
// (dist/linux-unpacked) always, then an AppImage and a .deb where electron-builder can fetch its tools.
// Needs Electron's binary (npm run setup downloads it) and better-sqlite3 built and verified for that
// Electron (the stamp in build/electron-native); where either is missing it says so in one line.
//
//   npm run dist [-- --dir] [--electron-dist DIR] [--native-dir DIR] [--output DIR] [--skip-build]
//
// --electron-dist: an unpacked Electron of the installed version (electron-builder's electronDist),
// e.g. where the download is blocked but a copy exists. --native-dir: where the stamped better-sqlite3
// build is (default build/electron-native). The tests use both with stand-ins.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { electronInstall, nativeProblem } from './electron-native.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dirOnly = argv.includes('--dir');
const output = path.resolve(root, opt('--output') ?? 'dist');
const nativeDir = path.resolve(root, opt('--native-dir') ?? path.join('build', 'electron-native'));

const install = electronInstall(root);
let electronDist = opt('--electron-dist');
if (electronDist) electronDist = path.resolve(electronDist);
else if (install.bin) electronDist = path.dirname(install.bin);
else {
  console.error(`npm run dist needs Electron ${install.version ?? ''}'s binary, and ${install.why ?? 'it is missing'}: run npm run setup where github.com is reachable, or pass --electron-dist DIR.`);
  process.exit(1);
}
const native = nativeProblem(root, install, nativeDir);
if (native) {
  console.error(`npm run dist cannot package better-sqlite3: ${native}.`);
  process.exit(1);
}

if (!argv.includes('--skip-build')) {
  const b = spawnSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', 'build'], { cwd: root, stdio: 'inherit', shell: process.platform === 'win32' });
  if (b.status !== 0) process.exit(b.status ?? 1);
}

/** The package's electron-builder configuration (https://www.electron.build/configuration). */
export function packageConfig() {
  return {
    appId: 'org.dinolab.desktop',
    productName: 'DINO Lab',
    executableName: 'dino-lab',
    electronVersion: install.version,
    electronDist,
    // better-sqlite3 comes prebuilt for Electron from build/electron-native (verified by setup, stamped);
    // electron-builder's own rebuild would rebuild the project's node_modules in place.
    npmRebuild: false,
    // A production dependency missing from the package fails the build instead of a warning.
    allowMissingDependencies: [],
    // No fuse is flipped: RunAsNode stays on (job processes and `dinolab` run Electron as Node).
    directories: { output, buildResources: 'packaging' },
    files: [
      'package.json',
      'out/**',
      '!out/**/*.map',
      // The Node-ABI build never goes in; the Electron one is in resources/native.
      '!node_modules/better-sqlite3/{build,deps,src}/**',
      '!node_modules/@tensorflow/tfjs-node/**',
      '!node_modules/onnxruntime-node/bin/napi-v*/{darwin,win32}/**',
      '!node_modules/onnxruntime-node/bin/napi-v*/linux/arm64/**',
      // onnxruntime-web is only copied into exported web demos: its WebGPU bundle and the asyncify wasm it
      // loads (src/core/export/web-demo.ts) plus its main entry; the other wasm builds are ~60 MB.
      '!node_modules/onnxruntime-web/lib/**',
      '!node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.{wasm,mjs}',
      '!node_modules/onnxruntime-web/dist/ort-wasm-simd-threaded.{jsep,jspi}.*',
      '!node_modules/onnxruntime-web/dist/ort.{all,webgl,jspi,wasm,bundle}*',
      '!node_modules/onnxruntime-web/dist/ort.{js,mjs}',
      '!node_modules/**/*.{md,map,ts}',
      '!node_modules/**/{test,tests,docs,example,examples}/**',
    ],
    extraResources: [{ from: path.join(nativeDir, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), to: 'native/better_sqlite3.node' }, { from: path.join(nativeDir, 'stamp.json'), to: 'native/stamp.json' }],
    extraFiles: [{ from: 'packaging/linux/dinolab-cli.sh', to: 'dinolab-cli' }],
    asar: true,
    asarUnpack: [
      // Native code: a .node loads the shared libraries beside it, which dlopen cannot read from an asar.
      'node_modules/onnxruntime-node/bin/**',
      'node_modules/sharp/**',
      'node_modules/@img/**',
      'node_modules/better-sqlite3/**',
      // Entry points started as child processes (the engine's utility process, job processes) and worker
      // threads, and the chunks they import. The window's main (index.js) and the CLI stay inside.
      'out/main/{engine,job-process,svc-solver-thread,kernel-block-worker,inference-worker}.js',
      'out/main/chunks/**',
    ],
    linux: { target: dirOnly ? ['dir'] : ['dir', 'AppImage', 'deb'], category: 'Science', maintainer: 'DINO Lab', synopsis: 'Frozen DINOv2 features + small classifiers' },
    // electron-builder's own deb scripts (update-alternatives, chrome-sandbox mode, the AppArmor profile for
    // Ubuntu 24.04+) plus one line each for `dinolab` on the PATH.
    deb: { afterInstall: 'packaging/linux/after-install.tpl', afterRemove: 'packaging/linux/after-remove.tpl' },
    publish: null,
  };
}

const { build, Platform } = await import('electron-builder');
const targets = dirOnly ? ['dir'] : ['dir', 'AppImage', 'deb'];
try {
  await build({ targets: Platform.LINUX.createTarget(targets), config: packageConfig(), projectDir: root });
} catch (err) {
  const msg = String(err?.message ?? err);
  if (!dirOnly && fs.existsSync(path.join(output, 'linux-unpacked')) && /(getaddrinfo|ENOTFOUND|ECONNREFUSED|ETIMEDOUT|download|fetch failed)/i.test(msg)) {
    console.error(`The unpacked package is in ${path.relative(root, path.join(output, 'linux-unpacked'))}; the AppImage and .deb need tools electron-builder downloads from github.com, which failed (${msg.split('\n')[0]}).`);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}
console.log(`Package written to ${path.relative(root, output)}/ (linux-unpacked${dirOnly ? '' : ', AppImage, .deb'}).`);
