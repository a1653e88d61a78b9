/**
 * The Electron main process's lifecycle (issue 17 items 3-6, 8), without an Electron binary:
 * src/main/index.ts runs against a recording stand-in for the `electron` module whose utilityProcess.fork
 * returns engines the test controls (they answer, die, report a fatal start error). The engine's own
 * fatal path (src/main/engine.ts) runs for real from the built bundle under Node, with a parentPort
 * bridged to a child-process channel.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ipcChannel } from '../../src/shared/contract';
import { defaultDataDir } from '../../src/core/paths';
import { isRendererUrl, rendererUrl } from '../../src/main/renderer-url';
import { projectRoot } from '../helpers';
import { record } from './record';

type Fn = (...a: unknown[]) => unknown;
const rec = vi.hoisted(() => ({
  engines: [] as (import('node:events').EventEmitter & { posted: unknown[]; killed: number; env: Record<string, string>; file: string })[],
  handlers: new Map<string, (...a: unknown[]) => unknown>(),
  windows: [] as { opts: Record<string, unknown>; wc: Record<string, unknown>; loaded: string[] }[],
  appEvents: new Map<string, (...a: unknown[]) => unknown>(),
  quits: 0,
  dialogs: [] as string[],
  ready: null as null | Promise<void>,
}));

vi.mock('electron', async () => {
  const { EventEmitter: EE } = await import('node:events');
  class BrowserWindow {
    webContents: Record<string, unknown>;
    constructor(opts: Record<string, unknown>) {
      const entry = { opts, wc: {} as Record<string, unknown>, loaded: [] as string[] };
      entry.wc = { setWindowOpenHandler: () => undefined, on: () => undefined, send: () => undefined };
      this.webContents = entry.wc;
      rec.windows.push(entry);
      (this as unknown as { entry: typeof entry }).entry = entry;
    }
    once(): void {}
    on(): void {}
    loadURL(url: string): Promise<void> {
      (this as unknown as { entry: { loaded: string[] } }).entry.loaded.push(url);
      return Promise.resolve();
    }
    loadFile(file: string): Promise<void> {
      (this as unknown as { entry: { loaded: string[] } }).entry.loaded.push(`loadFile:${file}`);
      return Promise.resolve();
    }
  }
  let resolveReady: () => void = () => undefined;
  rec.ready = new Promise<void>((r) => (resolveReady = r));
  return {
    BrowserWindow,
    ipcMain: { handle: (ch: string, fn: Fn) => rec.handlers.set(ch, fn), on: () => undefined },
    app: {
      enableSandbox: () => undefined,
      on: (ev: string, fn: Fn) => rec.appEvents.set(ev, fn),
      whenReady: () => {
        setTimeout(resolveReady, 0);
        return rec.ready!;
      },
      getPath: () => '/nonexistent/userData',
      getAppPath: () => '/nonexistent/app',
      quit: () => {
        rec.quits++;
        // Electron emits before-quit from app.quit(); a handler may prevent it.
        const ev = { defaultPrevented: false, preventDefault: () => (ev.defaultPrevented = true) };
        rec.appEvents.get('before-quit')?.(ev);
      },
    },
    session: { defaultSession: { webRequest: { onHeadersReceived: () => undefined }, setPermissionRequestHandler: () => undefined } },
    utilityProcess: {
      fork: (file: string, _args: string[], opts: { env: Record<string, string> }) => {
        const child = Object.assign(new EE(), { posted: [] as unknown[], killed: 0, env: opts.env, file });
        Object.assign(child, { postMessage: (m: unknown) => child.posted.push(m), kill: () => child.killed++ });
        rec.engines.push(child);
        return child;
      },
    },
    dialog: { showErrorBox: (_t: string, body: string) => rec.dialogs.push(body) },
  };
});

const savedDataDir = process.env.DINOLAB_DATA_DIR;
delete process.env.DINOLAB_DATA_DIR;
delete process.env.ELECTRON_RENDERER_URL;
afterAll(() => {
  if (savedDataDir !== undefined) process.env.DINOLAB_DATA_DIR = savedDataDir;
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/** Settles within ms, or reports that it did not. */
const within = <T,>(p: Promise<T>, ms: number): Promise<T | 'never settled'> => Promise.race([p, sleep(ms).then(() => 'never settled' as const)]);
const rendererFile = path.join(projectRoot, 'src', 'renderer', 'index.html');

async function boot(): Promise<void> {
  await import('../../src/main/index');
  await rec.ready;
  await sleep(10);
}
function call(name = 'info'): Promise<unknown> {
  const win = rec.windows[0]!;
  const event = { sender: win.wc, senderFrame: { parent: null, url: win.loaded[0] } };
  return rec.handlers.get(ipcChannel(name as 'info'))!(event, {}) as Promise<unknown>;
}
/** The engine answers every call posted to it so far. */
function answer(engine: (typeof rec.engines)[number]): void {
  for (const m of engine.posted as { id?: number }[]) if (m.id !== undefined) engine.emit('message', { id: m.id, reply: { ok: true, value: 'pong' } });
  engine.posted.length = 0;
}

describe('Electron main process lifecycle (recording electron stand-in)', () => {
  beforeAll(boot);

  it('item 4: the engine gets the same default data directory as dinolab and the web host', () => {
    expect(rec.engines).toHaveLength(1);
    expect(rec.engines[0]!.env.DINOLAB_DATA_DIR).toBe(defaultDataDir());
    expect(rec.engines[0]!.env.DINOLAB_DATA_DIR).not.toBe('/nonexistent/userData');
    record({ fault: "Electron's app.getPath('userData') (~/.config/dino-lab) differs from the CLI's data directory", outcome: `engine started with DINOLAB_DATA_DIR=${defaultDataDir()} (src/core/paths.ts defaultDataDir), the CLI's default`, checked: 'env passed to utilityProcess.fork' });
  });

  it('item 8: the window may be narrowed to about 900 px', () => {
    const opts = rec.windows[0]!.opts;
    expect(opts.minWidth as number).toBeLessThanOrEqual(900);
    expect(opts.minWidth as number).toBeGreaterThanOrEqual(800);
  });

  it('item 6: the renderer URL comes from pathToFileURL and the sender check accepts exactly that page, whatever the checkout path', async () => {
    const win = rec.windows[0]!;
    expect(win.loaded).toEqual([pathToFileURL(rendererFile).href]);
    const reply = call();
    answer(rec.engines[0]!);
    expect(await reply).toEqual({ ok: true, value: 'pong' });
    // A checkout path with #, ? and % (and a space): the URL Chromium reports for the loaded page is accepted.
    const odd = path.join(os.tmpdir(), 'lab #1?x=%41 b', 'out', 'renderer', 'index.html');
    const url = rendererUrl(odd, undefined);
    expect(new URL(url).hash).toBe('');
    expect(new URL(url).search).toBe('');
    expect(isRendererUrl(new URL(url).href, odd, undefined)).toBe(true);
    // The old hand-made URL turns '#1?x=%41 b/...' into a fragment: it names another file.
    const handMade = `file://${odd}`;
    expect(isRendererUrl(handMade, odd, undefined)).toBe(false);
    for (const other of [pathToFileURL(path.join(path.dirname(odd), 'evil.html')).href, 'file://host' + odd, 'https://evil.example/index.html', 'not a url']) {
      expect(isRendererUrl(other, odd, undefined), other).toBe(false);
    }
    expect(isRendererUrl('http://localhost:5173/', odd, 'http://localhost:5173/')).toBe(true);
    expect(isRendererUrl('http://localhost:5174/', odd, 'http://localhost:5173/')).toBe(false);
    record({ fault: `a checkout at "${path.dirname(path.dirname(path.dirname(odd)))}" (#, ?, %, space)`, outcome: 'the page URL escapes them; the IPC sender check accepts that page and refuses another file, another host, a remote page, garbage', checked: 'isRendererUrl(src/main/renderer-url.ts) as used by senderAllowed; the window loaded pathToFileURL(renderer/index.html)' });
  });

  it('item 3: after the engine dies, pending and new calls settle with the cause, and it is restarted with back-off', async () => {
    const first = rec.engines[0]!;
    const before = call();
    first.emit('exit', 9);
    first.posted.length = 0;
    expect(await within(before, 100)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/exit (code )?9/) } });
    // A call made while the engine is down must not be posted to the dead one.
    const during = await within(call(), 200);
    expect(during).toMatchObject({ ok: false, error: { code: 'internal', message: expect.stringMatching(/not running: The engine stopped \(exit code 9\)\. Restarting it\./) } });
    expect(first.posted).toEqual([]);
    expect(rec.dialogs.at(-1)).toMatch(/exit code 9/);
    // Restarted after the first back-off step (1 s).
    const t0 = Date.now();
    while (rec.engines.length < 2 && Date.now() - t0 < 3000) await sleep(50);
    expect(rec.engines).toHaveLength(2);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    const after = call();
    answer(rec.engines[1]!);
    expect(await within(after, 200)).toEqual({ ok: true, value: 'pong' });
    record({ fault: 'the engine utility process exits (code 9) with a call pending, then a call is made while it is down', outcome: 'the pending call and the new call both settle at once with "The engine stopped (exit code 9)"; a dialog names the cause; a new engine is forked after about 1 s and answers', checked: 'nothing was posted to the dead engine; replies of the restarted one reach the renderer' });
  });

  it('item 3: a failed database open is the cause shown, and restarts back off', async () => {
    const second = rec.engines[1]!;
    const msg = 'Cannot open the database /home/u/.local/share/dino-lab/dinolab.db: unable to open database file';
    second.emit('message', { fatal: { code: 'db_corrupt', message: msg } });
    second.emit('exit', 1);
    const r = await within(call(), 200);
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringContaining(msg) } });
    expect(rec.dialogs.at(-1)).toContain(msg);
    // Second death in a row: the next start waits longer than the first one did (2 s).
    await sleep(1300);
    expect(rec.engines).toHaveLength(2);
    const t0 = Date.now();
    while (rec.engines.length < 3 && Date.now() - t0 < 3000) await sleep(50);
    expect(rec.engines).toHaveLength(3);
    record({ fault: 'the restarted engine cannot open its database (it posts a fatal message, then exits 1)', outcome: 'calls and the dialog carry "Cannot open the database …: unable to open database file"; the next restart waits 2 s instead of 1 s', checked: 'the reply the renderer gets (shown in its status bar and pages) and the dialog text' });
  });

  it('item 5: quit (Ctrl+Q / app.quit) is held until the engine has closed its jobs', async () => {
    const engine = rec.engines[2]!;
    const quitsBefore = rec.quits;
    const ev = { defaultPrevented: false, preventDefault: () => (ev.defaultPrevented = true) };
    rec.appEvents.get('before-quit')!(ev);
    expect(ev.defaultPrevented).toBe(true);
    expect(engine.posted).toContainEqual({ shutdown: true });
    await sleep(1600);
    // The old main quit after 1.5 s regardless; the job manager may need up to 3 s.
    expect(rec.quits).toBe(quitsBefore);
    engine.emit('exit', 0);
    expect(rec.quits).toBe(quitsBefore + 1);
    // The quit that follows goes through, and the engine is not restarted.
    const again = { defaultPrevented: false, preventDefault: () => (again.defaultPrevented = true) };
    rec.appEvents.get('before-quit')!(again);
    expect(again.defaultPrevented).toBe(false);
    await sleep(1200);
    expect(rec.engines).toHaveLength(3);
    // Closing the last window quits the same way (it does not post a shutdown of its own and race it).
    expect(rec.appEvents.get('window-all-closed')).toBeDefined();
    record({ fault: 'before-quit (Ctrl+Q) while the engine runs', outcome: 'quit prevented, {shutdown:true} posted, no quit after 1.6 s while the engine is still closing; app.quit() once the engine exited; then quit proceeds and no restart', checked: 'preventDefault, messages posted to the engine, app.quit calls' });
  });
});

describe('the engine process (built out/main/engine.js run under Node)', () => {
  it('item 3: a database that cannot be opened is reported to the main process before the engine exits', async () => {
    const bundle = path.join(projectRoot, 'out', 'main', 'engine.js');
    if (!fs.existsSync(bundle)) throw new Error('out/main/engine.js missing: run npm run build before the tests');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dinolab-engine-'));
    const shim = path.join(dir, 'parent-port.mjs');
    // Electron's utilityProcess gives the child process.parentPort; here it is bridged to a fork channel.
    fs.writeFileSync(shim, "process.parentPort = { on: (ev, fn) => process.on('message', (data) => fn({ data })), postMessage: (m) => process.send(m) };\n");
    const dbDir = path.join(dir, 'a-directory.db');
    fs.mkdirSync(dbDir);
    const child = spawn(process.execPath, ['--import', pathToFileURL(shim).href, bundle], { env: { ...process.env, DINOLAB_DB: dbDir, DINOLAB_DATA_DIR: dir }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    const messages: unknown[] = [];
    child.on('message', (m) => messages.push(m));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(messages).toEqual([{ fatal: { code: 'db_corrupt', message: expect.stringContaining(`Cannot open the database ${dbDir}`) } }]);
    record({ fault: 'the engine started with DINOLAB_DB pointing at a directory', outcome: `it posts {fatal: {code: 'db_corrupt', message: 'Cannot open the database …'}} and exits 1`, checked: 'messages received on the parent channel and the exit code' });
  });
});

