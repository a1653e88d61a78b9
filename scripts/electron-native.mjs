// The desktop window's preconditions, shared by scripts/setup.mjs, scripts/start.mjs and scripts/dist.mjs:
// where Electron's binary is (resolved through require('electron'), which honours
// ELECTRON_OVERRIDE_DIST_PATH), whether better-sqlite3 was built and verified for that Electron (the
// stamp), and whether Chromium's sandbox can start on this Linux machine.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

export const NATIVE_DIR = path.join('build', 'electron-native');
const STAMP = 'stamp.json';
const BINDING = path.join('better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

/** The installed `electron` npm package: version, ABI (NODE_MODULE_VERSION) and the binary's path, or why not. */
export function electronInstall(root) {
  const require = createRequire(path.join(root, 'package.json'));
  let pkgDir;
  try {
    pkgDir = path.dirname(require.resolve('electron/package.json'));
  } catch {
    return { why: 'the electron package is not installed (run npm run setup)' };
  }
  const version = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')).version;
  const abiFile = path.join(pkgDir, 'abi_version');
  const abi = fs.existsSync(abiFile) ? fs.readFileSync(abiFile, 'utf8').trim() : null;
  // require('electron') downloads the binary when path.txt is missing; never trigger that from here.
  if (!process.env.ELECTRON_OVERRIDE_DIST_PATH && !fs.existsSync(path.join(pkgDir, 'path.txt'))) {
    return { version, abi, why: "Electron's binary is not installed (its download failed or was skipped during npm run setup)" };
  }
  let bin;
  try {
    bin = require('electron');
  } catch (err) {
    return { version, abi, why: `Electron's binary cannot be found (${err.message.split('\n')[0]})` };
  }
  if (typeof bin !== 'string' || !fs.existsSync(bin)) return { version, abi, why: `Electron's binary is missing at ${bin}` };
  return { version, abi, bin };
}

export function readStamp(root, dir = path.join(root, NATIVE_DIR)) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, STAMP), 'utf8'));
  } catch {
    return null;
  }
}

/** Why the better-sqlite3 in build/electron-native cannot serve this Electron, or null when it can. */
export function nativeProblem(root, { version, abi }, dir = path.join(root, NATIVE_DIR)) {
  const stamp = readStamp(root, dir);
  const binding = path.join(dir, BINDING);
  if (!stamp || !fs.existsSync(binding)) {
    return 'better-sqlite3 for Electron was not built and verified (run npm run setup; on a machine without a compiler or a prebuild for this Electron it cannot be built)';
  }
  if (stamp.electron !== version || (abi && String(stamp.abi) !== abi)) {
    return `better-sqlite3 for Electron was built for Electron ${stamp.electron} (ABI ${stamp.abi}), but Electron ${version} (ABI ${abi ?? '?'}) is installed: run npm run setup again`;
  }
  return null;
}

/** Chromium's FATAL line when the setuid helper is unusable (Electron issue #42510). */
export const SUID_ERROR = /SUID sandbox helper binary was found, but is not configured correctly/;

export function sandboxFix(helper) {
  return `sudo chown root:root '${helper}' && sudo chmod 4755 '${helper}'`;
}

/**
 * On Linux, Chromium sandboxes its renderers with unprivileged user namespaces; where those are blocked
 * (Ubuntu 23.10+/24.04 through AppArmor: kernel.apparmor_restrict_unprivileged_userns=1; Debian's
 * kernel.unprivileged_userns_clone=0) it falls back to the setuid helper chrome-sandbox beside the
 * binary, which must be owned by root with mode 4755, else Electron aborts with SIGTRAP. npm never makes
 * it so. Returns null when the window can start, else { why, fix }. DINOLAB_PROC_SYS_KERNEL replaces
 * /proc/sys/kernel (for tests).
 */
export function sandboxProblem(bin) {
  if (process.platform !== 'linux') return null;
  const kernel = process.env.DINOLAB_PROC_SYS_KERNEL ?? '/proc/sys/kernel';
  const read = (name) => {
    try {
      return fs.readFileSync(path.join(kernel, name), 'utf8').trim();
    } catch {
      return null;
    }
  };
  let restricted = null;
  if (read('apparmor_restrict_unprivileged_userns') === '1') restricted = 'kernel.apparmor_restrict_unprivileged_userns = 1 (AppArmor blocks unprivileged user namespaces)';
  else if (read('unprivileged_userns_clone') === '0') restricted = 'kernel.unprivileged_userns_clone = 0 (unprivileged user namespaces are off)';
  if (!restricted) return null;
  const helper = path.join(path.dirname(bin), 'chrome-sandbox');
  let st = null;
  try {
    st = fs.statSync(helper);
  } catch {
    /* missing */
  }
  if (st && st.uid === 0 && (st.mode & 0o7777) === 0o4755) return null;
  const state = st ? `owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8)}` : 'missing';
  return {
    why: `Chromium's sandbox cannot start here: ${restricted}, and its setuid helper ${helper} is ${state} (it must be root-owned with mode 4755)`,
    fix: sandboxFix(helper),
  };
}

/**
 * Builds better-sqlite3 for Electron in a clean folder, verifies it by loading it with the Electron binary
 * run as Node, and only then moves it to build/electron-native with a stamp (Electron version, ABI).
 * On failure nothing is left in build/electron-native and the build's error tail is returned.
 * `install` is the Electron install (electronInstall()); env is the environment for the build tools.
 */
export function buildElectronNative(root, install, { env = process.env, log = () => undefined } = {}) {
  const dest = path.join(root, NATIVE_DIR);
  const work = path.join(root, 'build', `electron-native.tmp-${process.pid}`);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.rmSync(work, { recursive: true, force: true });
  const src = path.dirname(createRequire(path.join(root, 'package.json')).resolve('better-sqlite3/package.json'));
  const mod = path.join(work, 'better-sqlite3');
  fs.mkdirSync(work, { recursive: true });
  // A clean copy: the sources without the Node build (build/ is where the Node-ABI binary lives).
  fs.cpSync(src, mod, { recursive: true, filter: (f) => path.relative(src, f).split(path.sep)[0] !== 'build' });
  const common = ['--runtime=electron', `--target=${install.version}`, `--arch=${process.arch}`];
  const tail = [];
  const out = (r) => `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim();
  // 1. A prebuilt binary for this Electron (better-sqlite3 publishes them per Electron ABI).
  const prebuild = createRequire(path.join(src, 'package.json')).resolve('prebuild-install/bin.js');
  const pre = spawnSync(process.execPath, [prebuild, ...common], { cwd: mod, env, encoding: 'utf8', timeout: 5 * 60_000 });
  if (pre.status !== 0) {
    tail.push(`prebuild-install: ${out(pre).split('\n').slice(-3).join('\n')}`);
    // 2. Build from source against Electron's headers with node-gyp: the project's (a dependency of
    // @electron/rebuild, which electron-builder brings), else `npm exec node-gyp`; never a path guessed
    // from the Node binary. A `nodedir` from the environment or an .npmrc would point node-gyp at Node's
    // headers and yield a Node-ABI module under an Electron name, so it is dropped here.
    log('no prebuild for this Electron; building from source with node-gyp');
    const gypArgs = ['rebuild', '--release', ...common, `--dist-url=${env.npm_config_disturl ?? 'https://electronjs.org/headers'}`];
    if (env.npm_config_devdir) gypArgs.push(`--devdir=${env.npm_config_devdir}`);
    const gypEnv = Object.fromEntries(Object.entries(env).filter(([k]) => !/^npm_config_nodedir$/i.test(k)));
    let gyp = null;
    try {
      gyp = createRequire(path.join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
    } catch {
      /* not installed: npm exec fetches it */
    }
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    const b = gyp
      ? spawnSync(process.execPath, [gyp, ...gypArgs], { cwd: mod, env: gypEnv, encoding: 'utf8', timeout: 15 * 60_000 })
      : spawnSync(npm, ['exec', '--yes', '--nodedir=', '--', 'node-gyp', ...gypArgs], { cwd: mod, env: gypEnv, encoding: 'utf8', timeout: 15 * 60_000, shell: process.platform === 'win32' });
    if (b.status !== 0) tail.push(`node-gyp: ${out(b).split('\n').slice(-12).join('\n')}`);
  }
  const built = path.join(mod, BINDING.split(path.sep).slice(1).join(path.sep));
  if (!fs.existsSync(built)) {
    fs.rmSync(work, { recursive: true, force: true });
    return { ok: false, why: 'the build for Electron failed', tail: tail.join('\n') };
  }
  log('built; verifying it with the Electron binary run as Node');
  const v = verifyElectronNative(mod, built, install, env);
  if (!v.ok) {
    fs.rmSync(work, { recursive: true, force: true });
    return v;
  }
  const seen = v.seen;
  fs.writeFileSync(path.join(work, STAMP), JSON.stringify({ electron: seen.electron, abi: String(seen.abi), builtAt: new Date().toISOString() }, null, 2));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.renameSync(work, dest);
  return { ok: true, stamp: readStamp(root) };
}

/**
 * Loads a better-sqlite3 (module folder + .node file) with `install.bin` run as Node (ELECTRON_RUN_AS_NODE)
 * and checks that the binary reports the expected Electron version and ABI.
 */
export function verifyElectronNative(modDir, binding, install, env = process.env) {
  const probe = `const D=require(${JSON.stringify(path.join(modDir, 'lib', 'index.js'))});const db=new D(':memory:',{nativeBinding:${JSON.stringify(binding)}});db.prepare('select 1').get();process.stdout.write(JSON.stringify({electron:process.versions.electron??null,abi:process.versions.modules}))`;
  const v = spawnSync(install.bin, ['-e', probe], { env: { ...env, ELECTRON_RUN_AS_NODE: '1' }, encoding: 'utf8', timeout: 120_000 });
  let seen = null;
  try {
    seen = JSON.parse(v.stdout);
  } catch {
    /* reported below */
  }
  const mismatch = !seen ? null : seen.electron !== install.version ? `it reports Electron ${seen.electron}` : install.abi && String(seen.abi) !== install.abi ? `it reports ABI ${seen.abi}` : null;
  if (v.status === 0 && seen && !mismatch) return { ok: true, seen };
  const tail = `${v.stdout ?? ''}${v.stderr ?? ''}${v.error ? String(v.error) : ''}`.trim().split('\n').slice(-15).join('\n');
  return { ok: false, why: mismatch ? `the binary at ${install.bin} is not Electron ${install.version} run as Node (${mismatch})` : 'the built module does not load in Electron', tail };
}

/** The line setup prints when Electron's binary could not be downloaded (item 7: which Node applies). */
export function electronDownloadNote(why, { nodeVersion = process.versions.node, electronEngines } = {}) {
  const need = (electronEngines ?? '').match(/(\d+)\.(\d+)(?:\.(\d+))?/);
  const [maj, min] = nodeVersion.split('.').map(Number);
  const tooOld = need && (maj < Number(need[1]) || (maj === Number(need[1]) && min < Number(need[2])));
  const nodeNote = tooOld
    ? ` Electron's installer needs Node ${electronEngines.replace(/\s+/g, '')} and this is Node ${nodeVersion}: the desktop window needs Node ${need[1]}.${need[2]}+ for npm run setup; the web host and the CLI work on Node 20.19+.`
    : '';
  return `Electron's binary could not be downloaded (${why}); npm start will serve the same UI in your browser instead.${nodeNote}`;
}

