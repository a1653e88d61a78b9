/**
 * Electron main: one window with a locked-down renderer, an engine in a utilityProcess, and an IPC
 * bridge derived from the contract. The main process holds no logic of its own.
 */
import { app, BrowserWindow, dialog, ipcMain, session, utilityProcess, type IpcMainInvokeEvent, type UtilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_EVENT_CHANNEL, ipcChannel, methodNames, type CallReply } from '../shared/contract';
import { RENDERER_CSP, secureWebPreferences } from './window-options';

const here = path.dirname(fileURLToPath(import.meta.url));
let win: BrowserWindow | null = null;
let engine: UtilityProcess | null = null;
let nextId = 1;
const pending = new Map<number, (reply: CallReply<unknown>) => void>();

function startEngine(): UtilityProcess {
  const dbFlag = process.argv.indexOf('--db');
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (dbFlag > 0 && process.argv[dbFlag + 1]) env.DINOLAB_DB = path.resolve(process.argv[dbFlag + 1]!);
  env.DINOLAB_DATA_DIR ??= app.getPath('userData');
  env.DINOLAB_APP_ROOT ??= app.getAppPath();
  const child = utilityProcess.fork(path.join(here, 'engine.js'), [], { env, serviceName: 'DINO Lab engine', stdio: 'inherit' });
  child.on('message', (msg: { id?: number; reply?: CallReply<unknown>; event?: unknown }) => {
    if (msg.event) win?.webContents.send(IPC_EVENT_CHANNEL, msg.event);
    else if (msg.id !== undefined && msg.reply) {
      pending.get(msg.id)?.(msg.reply);
      pending.delete(msg.id);
    }
  });
  child.on('exit', (code) => {
    for (const [, resolve] of pending) resolve({ ok: false, error: { code: 'internal', message: `The engine stopped (exit ${code}).` } });
    pending.clear();
    if (code !== 0 && win) dialog.showErrorBox('DINO Lab', `The engine stopped unexpectedly (exit ${code}). Restart DINO Lab; your data is kept.`);
  });
  return child;
}

function rendererUrl(): string {
  return process.env.ELECTRON_RENDERER_URL ?? `file://${path.join(here, '../renderer/index.html')}`;
}

/** Only our own window's top frame, loaded from our own files, may call the engine. */
function senderAllowed(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!win || event.sender !== win.webContents || !frame || frame.parent !== null) return false;
  const expected = new URL(rendererUrl());
  const actual = new URL(frame.url);
  return actual.protocol === expected.protocol && actual.host === expected.host && actual.pathname === expected.pathname;
}

function registerIpc(): void {
  for (const name of methodNames) {
    ipcMain.handle(ipcChannel(name), (event, input: unknown): Promise<CallReply<unknown>> => {
      if (!senderAllowed(event)) return Promise.resolve({ ok: false, error: { code: 'unauthorized', message: 'Caller not allowed.' } });
      if (!engine) return Promise.resolve({ ok: false, error: { code: 'internal', message: 'The engine is not running.' } });
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        engine!.postMessage({ id, name, input });
      });
    });
  }
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 1280,
    minHeight: 800,
    title: 'DINO Lab',
    show: false,
    webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
  });
  win.once('ready-to-show', () => win?.show());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  void win.loadURL(rendererUrl());
  win.on('closed', () => (win = null));
}

app.enableSandbox();
app.on('web-contents-created', (_e, contents) => {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e) => e.preventDefault());
});

void app.whenReady().then(() => {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [RENDERER_CSP] } });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  engine = startEngine();
  registerIpc();
  createWindow();
});

app.on('window-all-closed', () => {
  engine?.postMessage({ shutdown: true });
  setTimeout(() => app.quit(), 1500);
});
