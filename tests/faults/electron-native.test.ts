/**
 * Item 2 of issue 17: better-sqlite3 for Electron is built in a clean folder, verified by loading it with
 * the Electron binary run as Node, and stamped; a failed build leaves nothing behind (before, setup copied
 * the Node build into build/electron-native first, so a failed rebuild left the Node-ABI copy in place).
 * Real npm/prebuild-install/node-gyp runs, made to fail fast by pointing their download hosts at a closed
 * port; a stand-in Electron binary that runs as Node stands for a binary of the wrong ABI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers';
import { record } from './record';
// @ts-expect-error plain .mjs script without types
import { buildElectronNative, electronDownloadNote, verifyElectronNative } from '../../scripts/electron-native.mjs';

type Result = { ok: boolean; why?: string; tail?: string; seen?: unknown };
const build = buildElectronNative as (root: string, install: object, o: { env: NodeJS.ProcessEnv }) => Result;
const verify = verifyElectronNative as (mod: string, binding: string, install: object) => Result;
const note = electronDownloadNote as (why: string, o: { nodeVersion: string; electronEngines: string }) => string;

const made: string[] = [];
afterAll(() => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});
const scratch = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-native-'));
  made.push(d);
  return d;
};
const sqliteDir = path.join(projectRoot, 'node_modules', 'better-sqlite3');
const nodeBinding = path.join(sqliteDir, 'build', 'Release', 'better_sqlite3.node');

function nodeStandIn(dir: string): string {
  const bin = path.join(dir, 'electron');
  fs.writeFileSync(bin, `#!/bin/sh\n[ -n "$ELECTRON_RUN_AS_NODE" ] && exec ${JSON.stringify(process.execPath)} "$@"\nexit 1\n`, { mode: 0o755 });
  return bin;
}

describe('better-sqlite3 for Electron (scripts/electron-native.mjs, used by npm run setup)', () => {
  it('item 2: a failed build for Electron leaves no Node-ABI copy behind and returns the error tail', () => {
    const root = scratch();
    fs.writeFileSync(path.join(root, 'package.json'), '{"name":"native-test"}');
    fs.symlinkSync(path.join(projectRoot, 'node_modules'), path.join(root, 'node_modules'));
    // What a failed run of today's setup leaves: the Node build copied into build/electron-native.
    const stale = path.join(root, 'build', 'electron-native', 'better-sqlite3', 'build', 'Release');
    fs.mkdirSync(stale, { recursive: true });
    fs.copyFileSync(nodeBinding, path.join(stale, 'better_sqlite3.node'));
    const closed = 'http://127.0.0.1:9';
    const t0 = Date.now();
    const r = build(root, { version: '45.5.0', abi: '140', bin: nodeStandIn(root) }, {
      env: { ...process.env, npm_config_disturl: closed, npm_config_better_sqlite3_binary_host: closed, npm_config_devdir: path.join(root, 'gyp-cache'), npm_config_build_from_source: '' },
    });
    expect(r.ok).toBe(false);
    expect(r.why).toMatch(/build for Electron failed/);
    expect(r.tail!.length).toBeGreaterThan(0);
    expect(fs.existsSync(path.join(root, 'build', 'electron-native'))).toBe(false);
    expect(fs.readdirSync(path.join(root, 'build'))).toEqual([]);
    record({
      fault: 'the rebuild of better-sqlite3 for Electron 45.5.0 fails (no prebuild, headers unreachable) while build/electron-native holds the Node-ABI copy',
      outcome: `ok false in ${Date.now() - t0} ms, error tail of ${r.tail!.split('\n').length} lines returned; build/electron-native removed, no temporary folder left`,
      checked: 'the folder npm start and the engine load better-sqlite3 from',
    });
  });

  it('item 2: verification refuses a module loaded by a binary that is not the expected Electron', () => {
    const dir = scratch();
    const r = verify(sqliteDir, nodeBinding, { version: '45.5.0', abi: '140', bin: nodeStandIn(dir) });
    expect(r.ok).toBe(false);
    expect(r.why).toMatch(/reports Electron null/);
    const broken = verify(sqliteDir, path.join(dir, 'missing.node'), { version: '45.5.0', abi: '140', bin: nodeStandIn(dir) });
    expect(broken.ok).toBe(false);
    expect(broken.why).toMatch(/does not load/);
    record({
      fault: 'verification through a stand-in binary that runs as plain Node (ABI ' + process.versions.modules + '), and of a missing .node',
      outcome: 'both refused: "reports Electron null" / "does not load in Electron"',
      checked: 'no stamp can be written from such a run',
    });
  });

  it('item 7: when the download fails on Node < 22.12, setup says which Node the desktop window needs', () => {
    const old = note('getaddrinfo ENOTFOUND github.com', { nodeVersion: '20.19.0', electronEngines: '>= 22.12.0' });
    expect(old).toMatch(/Node >=22\.12\.0 and this is Node 20\.19\.0/);
    expect(old).toMatch(/web host and the CLI work on Node 20\.19\+/);
    expect(note('x', { nodeVersion: '22.12.0', electronEngines: '>= 22.12.0' })).not.toMatch(/Node 22/);
  });
});
