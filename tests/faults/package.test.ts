/**
 * `npm run dist` (issue 17, "A package"): the unpacked Linux layout built by electron-builder against a
 * stand-in Electron distribution (electronDist: a stub `electron` executable; npmRebuild false; no fuse
 * is flipped), then checked: natives and process/worker entries outside the asar, the app's files
 * inside, every import of every entry resolvable from the packaged paths, better-sqlite3's Electron build
 * (here a stand-in file with a stamp: the real one is built by setup and loaded only on a release
 * machine) in resources/native. The project is staged in a temporary folder (node_modules hard-linked) so
 * electron-builder sees an ordinary npm tree.
 */
import { spawnSync } from 'node:child_process';
import { builtinModules, createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers';
import { record } from './record';

const requireHere = createRequire(import.meta.url);
const asar = requireHere('@electron/asar') as { listPackage(p: string, o?: object): string[]; extractFile(p: string, f: string): Buffer };
const electronVersion = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'node_modules/electron/package.json'), 'utf8')) as { version: string }).version;
const electronAbi = fs.readFileSync(path.join(projectRoot, 'node_modules/electron/abi_version'), 'utf8').trim();
/** Started as child processes or worker threads: unpacked. index (the window's main) and cli stay inside. */
const PROCESS_ENTRIES = ['engine', 'job-process', 'svc-solver-thread', 'kernel-block-worker', 'inference-worker'];
const INSIDE_ENTRIES = ['index', 'cli'];

let stage = '';
let out = '';
let build: { status: number | null; output: string; ms: number } = { status: null, output: '', ms: 0 };
const standInBinary = '#!/bin/sh\n# stand-in for Electron (no binary can be downloaded here)\nexit 0\n';

function runDist(args: string[], env: Record<string, string> = {}): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, [path.join(stage, 'scripts', 'dist.mjs'), ...args], { cwd: stage, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ...env } });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

beforeAll(() => {
  if (!fs.existsSync(path.join(projectRoot, 'out', 'main', 'index.js'))) throw new Error('out/ missing: run npm run build before the tests');
  stage = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-dist-'));
  for (const f of ['package.json', 'package-lock.json']) fs.copyFileSync(path.join(projectRoot, f), path.join(stage, f));
  for (const d of ['out', 'scripts', 'packaging']) fs.cpSync(path.join(projectRoot, d), path.join(stage, d), { recursive: true });
  // Hard links: fast, no copy of the 600 MB tree, and an ordinary folder for npm ls (a symlinked
  // node_modules makes npm report every package as extraneous).
  const cp = spawnSync('cp', ['-al', fs.realpathSync(path.join(projectRoot, 'node_modules')), path.join(stage, 'node_modules')]);
  if (cp.status !== 0) fs.cpSync(fs.realpathSync(path.join(projectRoot, 'node_modules')), path.join(stage, 'node_modules'), { recursive: true, verbatimSymlinks: true });
  fs.rmSync(path.join(stage, 'node_modules', '.package-lock.json'), { force: true });
  const dist = path.join(stage, 'electron-dist');
  fs.mkdirSync(dist);
  fs.writeFileSync(path.join(dist, 'electron'), standInBinary, { mode: 0o755 });
  fs.writeFileSync(path.join(dist, 'chrome-sandbox'), 'stand-in helper', { mode: 0o755 });
  fs.writeFileSync(path.join(dist, 'LICENSE'), 'stand-in');
  const native = path.join(stage, 'native');
  fs.mkdirSync(path.join(native, 'better-sqlite3', 'build', 'Release'), { recursive: true });
  fs.writeFileSync(path.join(native, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'stand-in for the Electron build of better-sqlite3');
  fs.writeFileSync(path.join(native, 'stamp.json'), JSON.stringify({ electron: electronVersion, abi: electronAbi }));
  out = path.join(stage, 'dist');
  const t0 = Date.now();
  const r = runDist(['--dir', '--skip-build', '--electron-dist', dist, '--native-dir', native, '--output', out]);
  build = { ...r, ms: Date.now() - t0 };
}, 300_000);

afterAll(() => {
  if (stage) fs.rmSync(stage, { recursive: true, force: true });
});

describe('npm run dist (electron-builder, --dir, stand-in Electron)', () => {
  it('without a usable Electron binary, npm run dist says so in one line', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-noelectron-'));
    const r = runDist(['--dir', '--skip-build'], { ELECTRON_OVERRIDE_DIST_PATH: empty });
    fs.rmSync(empty, { recursive: true, force: true });
    expect(r.status).toBe(1);
    expect(r.output.trim().split('\n')).toHaveLength(1);
    expect(r.output).toMatch(/npm run dist needs Electron .*binary/);
  });

  it('a stamp from another Electron is refused before packaging', () => {
    const native = path.join(stage, 'native-old');
    fs.cpSync(path.join(stage, 'native'), native, { recursive: true });
    fs.writeFileSync(path.join(native, 'stamp.json'), JSON.stringify({ electron: '44.0.0', abi: '136' }));
    const r = runDist(['--dir', '--skip-build', '--electron-dist', path.join(stage, 'electron-dist'), '--native-dir', native, '--output', path.join(stage, 'dist-old')]);
    expect(r.status).toBe(1);
    expect(r.output).toMatch(/built for Electron 44\.0\.0/);
    expect(fs.existsSync(path.join(stage, 'dist-old'))).toBe(false);
  });

  it('the unpacked layout: natives and entries outside the asar, app files inside, entries resolve', () => {
    expect(build.status, build.output.slice(-3000)).toBe(0);
    const appDir = path.join(out, 'linux-unpacked');
    const res = path.join(appDir, 'resources');
    const archive = path.join(res, 'app.asar');
    const unpacked = path.join(res, 'app.asar.unpacked');
    // The executable is the stand-in, byte for byte: no fuse was flipped (RunAsNode stays on).
    expect(fs.readFileSync(path.join(appDir, 'dino-lab'), 'utf8')).toBe(standInBinary);
    expect(fs.statSync(path.join(appDir, 'dinolab-cli')).mode & 0o111).not.toBe(0);
    // better-sqlite3 for Electron (with its stamp) beside the asar; the Node build is not packaged.
    expect(fs.readFileSync(path.join(res, 'native', 'better_sqlite3.node'), 'utf8')).toMatch(/stand-in for the Electron build/);
    expect(JSON.parse(fs.readFileSync(path.join(res, 'native', 'stamp.json'), 'utf8'))).toMatchObject({ electron: electronVersion, abi: electronAbi });
    const list = asar.listPackage(archive, { isPack: false }).map((f) => f.replace(/\\/g, '/'));
    const inArchive = new Set(list);
    const isUnpacked = (f: string): boolean => fs.existsSync(path.join(unpacked, f));
    expect(list.some((f) => f.startsWith('/node_modules/better-sqlite3/build'))).toBe(false);
    // The app's own files are inside the archive.
    for (const f of ['/package.json', '/out/renderer/index.html', '/out/preload/index.cjs']) {
      expect(inArchive.has(f), f).toBe(true);
      expect(isUnpacked(f), f).toBe(false);
    }
    // Every native library is outside the archive, beside the files that load it.
    const natives = list.filter((f) => /\.node$|\.so(\.\d+)*$/.test(f) && inArchive.has(f) && !fs.statSync(path.join(res, 'app.asar.unpacked', f), { throwIfNoEntry: false })?.isDirectory());
    expect(natives.length).toBeGreaterThan(3);
    for (const f of natives) expect(isUnpacked(f), `${f} must be unpacked`).toBe(true);
    const must = ['onnxruntime-node/bin/napi-v6/linux/x64/onnxruntime_binding.node', 'onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1'];
    for (const m of must) expect(natives.some((f) => f.endsWith(m)), m).toBe(true);
    expect(natives.some((f) => f.startsWith('/node_modules/@img/sharp-linux-x64/'))).toBe(true);
    expect(natives.some((f) => f.startsWith('/node_modules/@img/sharp-libvips-linux-x64/'))).toBe(true);
    expect(list.some((f) => /onnxruntime-node\/bin\/napi-v\d+\/(darwin|win32)\//.test(f))).toBe(false);
    // The web demo's onnxruntime-web files (and its main entry) are packaged; its other wasm builds are not.
    for (const f of ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm', 'ort.node.min.js']) {
      expect(inArchive.has(`/node_modules/onnxruntime-web/dist/${f}`), f).toBe(true);
    }
    expect(list.some((f) => /onnxruntime-web\/dist\/ort-wasm-simd-threaded\.(jsep\.|jspi\.)?wasm$/.test(f))).toBe(false);
    // Entries: unpacked; every relative import exists unpacked, every package import resolves in the package.
    const seen = new Set<string>();
    const packages = new Set<string>();
    const visit = (rel: string, inside = false): void => {
      if (seen.has(rel)) return;
      seen.add(rel);
      if (inside) {
        expect(inArchive.has(rel) && !isUnpacked(rel), `${rel} must be inside the asar`).toBe(true);
      } else expect(isUnpacked(rel), `${rel} must be unpacked`).toBe(true);
      const src = inside ? asar.extractFile(archive, rel.slice(1)).toString('utf8') : fs.readFileSync(path.join(unpacked, rel), 'utf8');
      for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s+['"]([^'"]+)['"]/g)) {
        const spec = m[1] ?? m[2] ?? m[3]!;
        if (spec.startsWith('.')) visit(path.posix.join(path.posix.dirname(rel), spec));
        else if (!spec.startsWith('node:') && !builtinModules.includes(spec) && spec !== 'electron') packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    };
    for (const e of PROCESS_ENTRIES) visit(`/out/main/${e}.js`);
    for (const e of INSIDE_ENTRIES) visit(`/out/main/${e}.js`, true);
    const main = (JSON.parse(fs.readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { main: string }).main;
    expect(inArchive.has(`/${main}`)).toBe(true);
    const optional = new Set(['@tensorflow/tfjs-node', 'tsx']);
    const missing = [...packages].filter((p) => !optional.has(p) && !inArchive.has(`/node_modules/${p}/package.json`));
    expect(missing, 'packages imported by the entries but not in the package').toEqual([]);
    record({
      fault: `electron-builder --dir against a stand-in Electron ${electronVersion} dist (npmRebuild false, no fuses)`,
      outcome: `built in ${(build.ms / 1000).toFixed(1)} s; ${natives.length} native libraries and ${seen.size} entry/chunk files unpacked; ${packages.size} packages imported by the entries all present; renderer, preload and package.json inside app.asar`,
      checked: 'asar listing vs app.asar.unpacked; resources/native holds the stamped better-sqlite3; the executable is the stand-in unchanged',
    });
  });

  it('the .deb puts dinolab on the PATH (its scripts rendered with electron-builder\'s macros)', () => {
    const macros = { executable: 'dino-lab', sanitizedProductName: 'DINO Lab', productFilename: 'DINO Lab' } as Record<string, string>;
    const render = (f: string): string =>
      fs.readFileSync(path.join(projectRoot, 'packaging', 'linux', f), 'utf8').replace(/\$\{([a-zA-Z]+)\}/g, (_m, k: string) => {
        if (!(k in macros)) throw new Error(`macro ${k} undefined in ${f}`);
        return macros[k]!;
      });
    const post = render('after-install.tpl');
    expect(post).toContain("ln -sf '/opt/DINO Lab/dinolab-cli' '/usr/bin/dinolab'");
    expect(post).toMatch(/apparmor/i);
    expect(render('after-remove.tpl')).toContain("rm -f '/usr/bin/dinolab'");
    // The packaged launcher runs the packaged executable as Node on the CLI inside the archive.
    const cli = fs.readFileSync(path.join(out, 'linux-unpacked', 'dinolab-cli'), 'utf8');
    expect(cli).toContain('ELECTRON_RUN_AS_NODE=1 exec "$here/dino-lab" "$here/resources/app.asar/out/main/cli.js"');
    expect(fs.existsSync(path.join(out, 'linux-unpacked', 'dino-lab'))).toBe(true);
  });
});
