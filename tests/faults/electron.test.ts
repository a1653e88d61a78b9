/**
 * Electron security (issue 7), without an Electron binary: src/main/index.ts and src/preload/index.ts are
 * loaded against a recording stand-in for the `electron` module, so the checks see what the code really
 * registers (windows, handlers, exposed API), plus static checks of the sources and the built bundles.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ipcChannel, methodNames } from '../../src/shared/contract';
import { RENDERER_CSP, secureWebPreferences } from '../../src/main/window-options';
import { projectRoot } from '../helpers';
import { record } from './record';

type Fn = (...a: unknown[]) => unknown;
const rec = vi.hoisted(() => ({
  exposed: new Map<string, unknown>(),
  invoked: [] as { channel: string; input: unknown }[],
  handlers: new Map<string, (...a: unknown[]) => unknown>(),
  onChannels: [] as string[],
  windows: [] as { opts: { webPreferences?: Record<string, unknown> }; wc: Record<string, unknown>; events: Map<string, Fn>; openHandler?: Fn }[],
  appEvents: new Map<string, Fn>(),
  contentsHooks: [] as { openHandler?: Fn; events: Map<string, Fn> }[],
  headersHook: null as null | Fn,
  permissionHook: null as null | Fn,
  sandboxEnabled: false,
  ready: null as null | Promise<void>,
}));

vi.mock('electron', () => {
  const makeContents = (events: Map<string, Fn>, holder: { openHandler?: Fn }): Record<string, unknown> => ({
    setWindowOpenHandler: (h: Fn) => (holder.openHandler = h),
    on: (ev: string, fn: Fn) => events.set(ev, fn),
    send: () => undefined,
  });
  class BrowserWindow {
    webContents: Record<string, unknown>;
    constructor(opts: { webPreferences?: Record<string, unknown> }) {
      const events = new Map<string, Fn>();
      const entry = { opts, wc: {} as Record<string, unknown>, events } as (typeof rec.windows)[number];
      entry.wc = makeContents(events, entry);
      this.webContents = entry.wc;
      rec.windows.push(entry);
    }
    once(): void {}
    on(): void {}
    loadURL(): Promise<void> {
      return Promise.resolve();
    }
  }
  let resolveReady: () => void = () => undefined;
  rec.ready = new Promise<void>((r) => (resolveReady = r));
  return {
    contextBridge: { exposeInMainWorld: (k: string, v: unknown) => rec.exposed.set(k, v) },
    ipcRenderer: {
      invoke: (channel: string, input: unknown) => {
        rec.invoked.push({ channel, input });
        return Promise.resolve({ ok: true });
      },
      on: () => undefined,
      removeListener: () => undefined,
    },
    ipcMain: {
      handle: (ch: string, fn: (...a: unknown[]) => unknown) => rec.handlers.set(ch, fn),
      on: (ch: string) => rec.onChannels.push(ch),
    },
    BrowserWindow,
    app: {
      enableSandbox: () => (rec.sandboxEnabled = true),
      on: (ev: string, fn: Fn) => rec.appEvents.set(ev, fn),
      whenReady: () => {
        setTimeout(resolveReady, 0);
        return rec.ready!;
      },
      getPath: () => '/nonexistent/userData',
      getAppPath: () => '/nonexistent/app',
      quit: () => undefined,
    },
    session: {
      defaultSession: {
        webRequest: { onHeadersReceived: (fn: Fn) => (rec.headersHook = fn) },
        setPermissionRequestHandler: (fn: Fn) => (rec.permissionHook = fn),
      },
    },
    utilityProcess: { fork: () => ({ on: () => undefined, postMessage: () => undefined }) },
    dialog: { showErrorBox: () => undefined },
  };
});

const read = (rel: string): string => fs.readFileSync(path.join(projectRoot, rel), 'utf8');

describe('Electron', () => {
  it('windows: contextIsolation, sandbox, no Node integration anywhere, app-wide sandbox', async () => {
    await import('../../src/main/index');
    await rec.ready;
    await new Promise((r) => setTimeout(r, 10));
    expect(rec.windows).toHaveLength(1);
    const wp = rec.windows[0]!.opts.webPreferences!;
    expect(wp).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false, webSecurity: true, allowRunningInsecureContent: false, webviewTag: false });
    expect(wp).toEqual(secureWebPreferences(wp.preload as string));
    expect(rec.sandboxEnabled).toBe(true);
    const src = read('src/main/index.ts');
    expect((src.match(/new BrowserWindow\(/g) ?? []).length).toBe((src.match(/webPreferences: secureWebPreferences\(/g) ?? []).length);
    record({
      fault: 'webPreferences of every window created by src/main/index.ts (loaded against a recording electron stand-in)',
      outcome: 'contextIsolation true, sandbox true, nodeIntegration(+InWorker, +InSubFrames) false, webSecurity true, webviewTag false; app.enableSandbox() called',
      checked: 'the options object actually passed to BrowserWindow; every new BrowserWindow uses secureWebPreferences',
    });
  });

  it('CSP without unsafe-eval or remote scripts, installed on every response; permissions denied', () => {
    expect(RENDERER_CSP).not.toMatch(/unsafe-eval/);
    expect(RENDERER_CSP).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(RENDERER_CSP).toMatch(/object-src 'none'/);
    expect(RENDERER_CSP).not.toMatch(/https?:|\*/);
    let headers: Record<string, string[]> = {};
    rec.headersHook!({ responseHeaders: { 'content-security-policy': ['script-src *'] } }, (r: { responseHeaders: Record<string, string[]> }) => (headers = r.responseHeaders));
    expect(headers['Content-Security-Policy']).toEqual([RENDERER_CSP]);
    let granted: boolean | null = null;
    rec.permissionHook!({}, 'media', (ok: boolean) => (granted = ok));
    expect(granted).toBe(false);
    const html = read('src/renderer/index.html');
    expect(html).not.toMatch(/unsafe-eval/);
    record({
      fault: 'renderer Content-Security-Policy and permission requests',
      outcome: `CSP "${RENDERER_CSP}" set by onHeadersReceived (replacing a looser one); permission 'media' denied`,
      checked: 'no unsafe-eval, script-src self only, no remote origins; renderer index.html has no unsafe-eval',
    });
  });

  it('navigation, new windows and webviews are denied', () => {
    const win = rec.windows[0]!;
    expect(win.openHandler!({ url: 'https://evil.example' })).toEqual({ action: 'deny' });
    let prevented = 0;
    const ev = { preventDefault: () => prevented++ };
    win.events.get('will-navigate')!(ev, 'https://evil.example');
    win.events.get('will-attach-webview')!(ev);
    // Any other web contents (e.g. a devtools or a future frame) gets the same handlers.
    const other = { openHandler: undefined as Fn | undefined, events: new Map<string, Fn>() };
    rec.appEvents.get('web-contents-created')!({}, { setWindowOpenHandler: (h: Fn) => (other.openHandler = h), on: (e: string, fn: Fn) => other.events.set(e, fn) });
    expect(other.openHandler!({ url: 'file:///etc/passwd' })).toEqual({ action: 'deny' });
    other.events.get('will-navigate')!(ev);
    expect(prevented).toBe(3);
    record({
      fault: 'window.open / target=_blank, a navigation, a <webview>, on the main window and on any other web contents',
      outcome: "window open handler returns {action: 'deny'}; will-navigate and will-attach-webview prevented",
      checked: 'handlers registered by src/main/index.ts, called with hostile URLs',
    });
  });

  it('IPC: one handler per contract call, each refusing a sender that is not our top frame', async () => {
    const expected = methodNames.map((n) => ipcChannel(n)).sort();
    expect([...rec.handlers.keys()].sort()).toEqual(expected);
    expect(rec.onChannels).toEqual([]);
    const win = rec.windows[0]!;
    const url = `file://${path.join(projectRoot, 'src/main/../renderer/index.html')}`;
    const handler = rec.handlers.get(ipcChannel('datasets.list'))!;
    const frames: [string, unknown][] = [
      ['another webContents', { sender: {}, senderFrame: { parent: null, url } }],
      ['a subframe', { sender: win.wc, senderFrame: { parent: {}, url } }],
      ['a remote page in our window', { sender: win.wc, senderFrame: { parent: null, url: 'https://evil.example/index.html' } }],
      ['another local file', { sender: win.wc, senderFrame: { parent: null, url: 'file:///tmp/evil.html' } }],
      ['a destroyed frame', { sender: win.wc, senderFrame: null }],
    ];
    for (const [label, event] of frames) {
      expect(await handler(event, {}), label).toEqual({ ok: false, error: { code: 'unauthorized', message: 'Caller not allowed.' } });
    }
    const src = read('src/main/index.ts');
    expect((src.match(/ipcMain\.handle\(/g) ?? []).length).toBe(1);
    expect(src).toMatch(/for \(const name of methodNames\) \{\s*ipcMain\.handle\(ipcChannel\(name\), \(event, input: unknown\)[^{]*\{\s*if \(!senderAllowed\(event\)\)/);
    record({
      fault: `IPC calls from ${frames.map((f) => f[0]).join(', ')}`,
      outcome: 'unauthorized "Caller not allowed." each time',
      checked: `ipcMain.handle registered exactly for the ${methodNames.length} contract channels, no ipcMain.on; sender checked first`,
    });
  });

  it('preload exposes only window.lab with invoke/subscribe, whitelisted to the contract', async () => {
    await import('../../src/preload/index');
    expect([...rec.exposed.keys()]).toEqual(['lab']);
    const api = rec.exposed.get('lab') as { invoke: (n: string, i: unknown) => Promise<unknown>; subscribe: Fn };
    expect(Object.keys(api).sort()).toEqual(['invoke', 'subscribe']);
    for (const n of methodNames) await api.invoke(n, { probe: n });
    expect(rec.invoked.map((x) => x.channel)).toEqual(methodNames.map((n) => ipcChannel(n)));
    rec.invoked.length = 0;
    const refused = [];
    for (const n of ['lab:info', 'evil.exec', '__proto__', 'constructor', 'toString', '', 'info ']) refused.push(await api.invoke(n, {}));
    expect(rec.invoked).toEqual([]);
    for (const r of refused) expect(r).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const built = read('out/preload/index.cjs');
    expect((built.match(/exposeInMainWorld\(/g) ?? []).length).toBe(1);
    for (const n of methodNames) expect(built.includes(`"${n}"`) || new RegExp(`[{,\\s]${n}:`).test(built), n).toBe(true);
    expect(built).not.toMatch(/require\(["'](?!electron)/);
    record({
      fault: 'window.lab from src/preload/index.ts: every contract call plus 7 non-contract names (lab:info, evil.exec, __proto__, constructor, toString, "", "info ")',
      outcome: `only 'lab' exposed, with invoke + subscribe; the ${methodNames.length} contract calls reach ipcRenderer.invoke on lab:<name>; the rest get not_found without any IPC`,
      checked: 'built out/preload/index.cjs: one exposeInMainWorld, every contract name present, requires nothing but electron',
    });
  });
});
