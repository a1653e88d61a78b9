/**
 * `npm start` (scripts/start.mjs) against stand-in Electron binaries (issue 17). Each case builds a small
 * project folder: the real scripts/*.mjs, a copy of the real `electron` npm package (its index.js,
 * which honours ELECTRON_OVERRIDE_DIST_PATH), a stand-in `electron` executable where the binary would
 * be, and a stand-in out/main/cli.js that records being started as the web host. Nothing is mocked in
 * the launcher itself.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers';
import { record } from './record';

const electronPkg = path.join(projectRoot, 'node_modules', 'electron');
const electronVersion = (JSON.parse(fs.readFileSync(path.join(electronPkg, 'package.json'), 'utf8')) as { version: string }).version;
const electronAbi = fs.readFileSync(path.join(electronPkg, 'abi_version'), 'utf8').trim();
const SUID_LINE =
  "[8:8:0812/041511.756497:FATAL:sandbox/linux/suid/client/setuid_sandbox_host.cc:169] The SUID sandbox helper binary was found, but is not configured correctly. Rather than run without sandboxing I'm aborting now. You need to make sure that $H is owned by root and has mode 4755.";

type Mode = 'exit0' | 'sigtrap' | 'suid';
const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A stand-in Electron binary: records argv and ELECTRON_RUN_AS_NODE to $LAUNCH_LOG, then behaves per mode. */
function standIn(file: string, mode: Mode, marker = 'dist'): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const body = {
    exit0: 'exit 0',
    sigtrap: 'kill -s TRAP $$',
    suid: `H="$(dirname "$0")/chrome-sandbox"; echo "${SUID_LINE}" >&2; kill -s TRAP $$`,
  }[mode];
  fs.writeFileSync(
    file,
    `#!/bin/sh\nprintf '%s\\n' "{\\"marker\\":\\"${marker}\\",\\"runAsNode\\":\\"\${ELECTRON_RUN_AS_NODE-unset}\\",\\"args\\":\\"$*\\"}" >> "$LAUNCH_LOG"\n${body}\n`,
    { mode: 0o755 },
  );
}

interface Project {
  root: string;
  dist: string;
  kernel: string;
  run(env?: Record<string, string | undefined>): { status: number | null; stdout: string; stderr: string; launches: { marker: string; runAsNode: string; args: string }[]; web: boolean };
}

function project(opts: { mode?: Mode; stamp?: { electron: string; abi: string } | null; nodeAbiCopy?: boolean; restrictUserns?: '0' | '1' | null } = {}): Project {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-launch-'));
  made.push(root);
  fs.writeFileSync(path.join(root, 'package.json'), JSON.stringify({ name: 'launch-test', type: 'module' }));
  fs.mkdirSync(path.join(root, 'scripts'));
  for (const f of fs.readdirSync(path.join(projectRoot, 'scripts')).filter((f) => f.endsWith('.mjs'))) fs.copyFileSync(path.join(projectRoot, 'scripts', f), path.join(root, 'scripts', f));
  fs.mkdirSync(path.join(root, 'out', 'main'), { recursive: true });
  fs.writeFileSync(path.join(root, 'out', 'main', 'cli.js'), `import fs from 'node:fs';\nfs.writeFileSync(${JSON.stringify(path.join(root, 'web.json'))}, JSON.stringify(process.argv.slice(2)));\nconsole.log('WEB HOST');\n`);
  const el = path.join(root, 'node_modules', 'electron');
  fs.mkdirSync(el, { recursive: true });
  for (const f of ['index.js', 'package.json', 'abi_version']) fs.copyFileSync(path.join(electronPkg, f), path.join(el, f));
  fs.writeFileSync(path.join(el, 'path.txt'), 'electron');
  const dist = path.join(el, 'dist');
  standIn(path.join(dist, 'electron'), opts.mode ?? 'exit0');
  // Electron ships the helper; npm leaves it owned by the installing user with mode 755.
  fs.writeFileSync(path.join(dist, 'chrome-sandbox'), '', { mode: 0o755 });
  fs.chmodSync(path.join(dist, 'chrome-sandbox'), 0o755);
  const native = path.join(root, 'build', 'electron-native');
  if (opts.nodeAbiCopy !== false) {
    // What today's setup leaves when the rebuild for Electron fails: the Node-ABI copy.
    fs.mkdirSync(path.join(native, 'better-sqlite3', 'build', 'Release'), { recursive: true });
    fs.copyFileSync(path.join(projectRoot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), path.join(native, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'));
  }
  const stamp = opts.stamp === undefined ? { electron: electronVersion, abi: electronAbi } : opts.stamp;
  if (stamp) fs.writeFileSync(path.join(native, 'stamp.json'), JSON.stringify(stamp));
  const kernel = path.join(root, 'proc-sys-kernel');
  fs.mkdirSync(kernel);
  if (opts.restrictUserns !== null) fs.writeFileSync(path.join(kernel, 'apparmor_restrict_unprivileged_userns'), `${opts.restrictUserns ?? '0'}\n`);
  const log = path.join(root, 'launches.jsonl');
  return {
    root,
    dist,
    kernel,
    run(env = {}) {
      fs.rmSync(log, { force: true });
      fs.rmSync(path.join(root, 'web.json'), { force: true });
      const e: Record<string, string | undefined> = { ...process.env, LAUNCH_LOG: log, DINOLAB_PROC_SYS_KERNEL: kernel, ELECTRON_OVERRIDE_DIST_PATH: undefined, ELECTRON_RUN_AS_NODE: undefined, DINOLAB_WEB: undefined, ...env };
      for (const k of Object.keys(e)) if (e[k] === undefined) delete e[k];
      const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'start.mjs'), '--db', '/tmp/x.db'], { env: e as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 30_000 });
      const launches = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { marker: string; runAsNode: string; args: string }) : [];
      return { status: r.status, stdout: r.stdout, stderr: r.stderr, launches, web: fs.existsSync(path.join(root, 'web.json')) };
    },
  };
}

describe('npm start (scripts/start.mjs) with stand-in Electron binaries', () => {
  it('launch: a stand-in that exits 0 is started with the app root and the arguments, and start exits 0', () => {
    const p = project();
    const r = p.run();
    expect(r.launches, r.stderr).toHaveLength(1);
    expect(r.launches[0]!.args).toBe(`${p.root} --db /tmp/x.db`);
    expect(r.web).toBe(false);
    expect(r.status).toBe(0);
    record({ fault: 'a working Electron binary (stand-in exiting 0)', outcome: 'launched once with <root> --db /tmp/x.db; exit 0; no web host', checked: 'argv recorded by the stand-in; exit status of npm start' });
  });

  it('binary resolved through require("electron"): ELECTRON_OVERRIDE_DIST_PATH picks the stand-in', () => {
    const p = project();
    const other = path.join(p.root, 'override-dist');
    standIn(path.join(other, 'electron'), 'exit0', 'override');
    const r = p.run({ ELECTRON_OVERRIDE_DIST_PATH: other });
    expect(r.launches.map((l) => l.marker), r.stderr).toEqual(['override']);
    record({ fault: 'ELECTRON_OVERRIDE_DIST_PATH set to another folder with a stand-in binary', outcome: 'the stand-in in that folder is launched, not node_modules/electron/dist/electron', checked: 'the marker written by the launched stand-in' });
  });

  it('item 1: Electron dying by a signal (SIGTRAP) makes npm start exit non-zero with a message', () => {
    const r = project({ mode: 'sigtrap' }).run();
    expect(r.launches).toHaveLength(1);
    expect(r.status).not.toBe(0);
    expect(r.status).toBe(128 + os.constants.signals.SIGTRAP);
    expect(r.stderr).toMatch(/SIGTRAP/);
    record({ fault: 'the Electron binary killed by SIGTRAP right after launch', outcome: `npm start exits ${r.status} and says the window was killed by SIGTRAP`, checked: 'exit status and stderr (before the fix: exit 0, no message)' });
  });

  it('item 1: the SUID-sandbox abort after launch prints the one command that fixes it and exits non-zero', () => {
    const p = project({ mode: 'suid' });
    const r = p.run();
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('SUID sandbox helper binary');
    const helper = path.join(p.dist, 'chrome-sandbox');
    expect(r.stderr).toContain(`sudo chown root:root '${helper}' && sudo chmod 4755 '${helper}'`);
    expect(r.stderr).not.toMatch(/--no-sandbox/);
    record({ fault: "stand-in printing Chromium's SUID-sandbox FATAL line and dying by SIGTRAP", outcome: 'non-zero exit; the chown/chmod 4755 command for the real helper path is printed; --no-sandbox is never suggested', checked: 'stderr and exit status' });
  });

  it('item 1: restricted user namespaces + a helper that is not root-owned 4755: no launch, the fix is printed, the web host starts', () => {
    const p = project({ restrictUserns: '1' });
    const r = p.run();
    expect(r.launches, 'Electron must not be launched into a certain abort').toEqual([]);
    const helper = path.join(p.dist, 'chrome-sandbox');
    expect(r.stdout + r.stderr).toContain(`sudo chown root:root '${helper}' && sudo chmod 4755 '${helper}'`);
    expect(r.stdout + r.stderr).toMatch(/apparmor_restrict_unprivileged_userns/);
    expect(r.web).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(p.root, 'web.json'), 'utf8'))).toEqual(['serve', '--db', '/tmp/x.db']);
    expect(r.status).toBe(0);
    // The same project with the restriction off launches the window.
    fs.writeFileSync(path.join(p.kernel, 'apparmor_restrict_unprivileged_userns'), '0\n');
    expect(p.run().launches).toHaveLength(1);
    record({ fault: 'kernel.apparmor_restrict_unprivileged_userns=1 (Ubuntu 23.10+/24.04) and chrome-sandbox mode 0755', outcome: 'Electron not launched; the chown/chmod 4755 command printed; the web host started with the same arguments', checked: 'no launch recorded; web host argv; with the sysctl at 0 the window is launched' });
  });

  it('item 1: a helper that is root-owned with mode 4755 is launched even with restricted namespaces', (ctx) => {
    if (process.getuid?.() !== 0) {
      ctx.skip(true, 'needs root to make the stand-in helper root-owned');
      return;
    }
    const p = project({ restrictUserns: '1' });
    fs.chmodSync(path.join(p.dist, 'chrome-sandbox'), 0o4755);
    expect(p.run().launches).toHaveLength(1);
  });

  it('item 2: a better-sqlite3 without a stamp (the Node-ABI copy a failed rebuild leaves) is not launched', () => {
    const r = project({ stamp: null }).run();
    expect(r.launches).toEqual([]);
    expect(r.stdout + r.stderr).toMatch(/better-sqlite3 for Electron/);
    expect(r.stdout + r.stderr).toMatch(/npm run setup/);
    expect(r.web).toBe(true);
    record({ fault: 'build/electron-native holds the Node-ABI better_sqlite3.node and no stamp', outcome: 'no Electron launch (it would die with NODE_MODULE_VERSION); one line naming npm run setup; web host started', checked: 'launch log, web host, output' });
  });

  it('item 2: a stamp from another Electron (an upgrade since setup) is refused', () => {
    const r = project({ stamp: { electron: '44.0.0', abi: '136' } }).run();
    expect(r.launches).toEqual([]);
    expect(r.stdout + r.stderr).toContain('44.0.0');
    expect(r.stdout + r.stderr).toContain(electronVersion);
    expect(r.web).toBe(true);
    record({ fault: `stamp says Electron 44.0.0 / ABI 136, installed Electron is ${electronVersion} / ABI ${electronAbi}`, outcome: 'no launch; both versions named; web host started', checked: 'launch log and output' });
  });

  it('item 7: an inherited ELECTRON_RUN_AS_NODE is cleared for the window', () => {
    const r = project().run({ ELECTRON_RUN_AS_NODE: '1' });
    expect(r.launches).toHaveLength(1);
    expect(r.launches[0]!.runAsNode).toBe('unset');
    record({ fault: 'ELECTRON_RUN_AS_NODE=1 inherited from the terminal', outcome: 'the Electron binary is started without it (it would otherwise run as plain Node)', checked: 'the variable as seen by the stand-in' });
  });
});
