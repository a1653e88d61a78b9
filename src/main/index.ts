/**
 * Electron main: one window with a locked-down renderer, an engine in a utilityProcess, and an IPC
 * bridge derived from the contract. The main process holds no logic of its own; it keeps the engine
 * alive (restarts with back-off after a death, answering calls meanwhile with the real cause) and holds
 * quit until the engine has closed its jobs.
 */
import { app, BrowserWindow, dialog, ipcMain, session, utilityProcess, type IpcMainInvokeEvent, type UtilityProcess } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IPC_EVENT_CHANNEL, ipcChannel, methodNames, type CallReply } from '../shared/contract';
import { defaultDataDir } from '../core/paths';
import { isRendererUrl, rendererUrl } from './renderer-url';
import { RENDERER_CSP, secureWebPreferences } from './window-options';

// In the package, out/main's chunks are unpacked beside the asar (npm run dist); the renderer and the
// preload are inside it.
const here = path.dirname(fileURLToPath(import.meta.url)).replace(/app\.asar\.unpacked(?=[\\/])/, 'app.asar');
const rendererFile = path.join(here, '../renderer/index.html');
/** Back-off between engine restarts; after this many deaths in a row (each within RUN_RESETS_MS) it stays down. */
export const RESTART_DELAYS_MS = [1000, 2000, 5000, 10_000, 30_000];
const RUN_RESETS_MS = 60_000;
/** How long quit waits for the engine to close its jobs (the job manager kills a job after 3 s). */
export const QUIT_WAIT_MS = 10_000;

let win: BrowserWindow | null = null;
let engine: UtilityProcess | null = null;
/** Why the engine is not running (its fatal message or exit), while it is down. */
let engineDown: string | null = 'The engine is starting.';
let deaths = 0;
let restartTimer: NodeJS.Timeout | null = null;
let quitting: 'no' | 'waiting' | 'done' = 'no';
let nextId = 1;
const pending = new Map<number, (reply: CallReply<unknown>) => void>();

function internal(message: string): CallReply<unknown> {
  return { ok: false, error: { code: 'internal', message } };
}

function startEngine(): void {
  const dbFlag = process.argv.indexOf('--db');
  const env: Record<string, string> = { ...(process.env as Record<string, string>) };
  if (dbFlag > 0 && process.argv[dbFlag + 1]) env.DINOLAB_DB = path.resolve(process.argv[dbFlag + 1]!);
  const dirFlag = process.argv.indexOf('--data-dir');
  if (dirFlag > 0 && process.argv[dirFlag + 1]) env.DINOLAB_DATA_DIR = path.resolve(process.argv[dirFlag + 1]!);
  // One default database for the desktop app, `dinolab` and the web host: the data directory of
  // src/core/paths.ts (e.g. ~/.local/share/dino-lab), not Electron's userData (~/.config/dino-lab).
  // A chosen database brings its own workspace: its folder (core/paths.ts's resolveWorkspace).
  if (!env.DINOLAB_DB) env.DINOLAB_DATA_DIR ??= defaultDataDir();
  env.DINOLAB_APP_ROOT ??= app.getAppPath();
  // In the installed package, better-sqlite3's Electron build sits outside the asar (npm run dist).
  if (app.isPackaged) env.DINOLAB_SQLITE_BINDING ??= path.join(process.resourcesPath, 'native', 'better_sqlite3.node');
  const child = utilityProcess.fork(path.join(here, 'engine.js'), [], { env, serviceName: 'DINO Lab engine', stdio: 'inherit' });
  const startedAt = Date.now();
  let fatal: string | null = null;
  engine = child;
  engineDown = null;
  child.on('message', (msg: { id?: number; reply?: CallReply<unknown>; event?: unknown; fatal?: { message: string } }) => {
    if (msg.fatal) fatal = msg.fatal.message;
    else if (msg.event) win?.webContents.send(IPC_EVENT_CHANNEL, msg.event);
    else if (msg.id !== undefined && msg.reply) {
      pending.get(msg.id)?.(msg.reply);
      pending.delete(msg.id);
    }
  });
  child.on('exit', (code) => {
    if (engine === child) engine = null;
    const cause = fatal ?? `The engine stopped (exit code ${code}).`;
    for (const [, resolve] of pending) resolve(internal(`${cause} The call was not completed.`));
    pending.clear();
    if (quitting !== 'no') {
      engineDown = 'DINO Lab is closing.';
      finishQuit();
      return;
    }
    deaths = Date.now() - startedAt > RUN_RESETS_MS ? 1 : deaths + 1;
    const delay = RESTART_DELAYS_MS[deaths - 1];
    engineDown = delay === undefined ? `${cause} It failed ${deaths} times in a row; restart DINO Lab.` : `${cause} Restarting it.`;
    if (win) dialog.showErrorBox('DINO Lab', `The engine stopped unexpectedly: ${cause}\n${delay === undefined ? 'It was restarted several times and failed each time; quit and restart DINO Lab.' : 'It is being restarted; your data is kept.'}`);
    if (delay !== undefined) {
      restartTimer = setTimeout(() => {
        restartTimer = null;
        if (quitting === 'no') startEngine();
      }, delay);
    }
  });
}

/** Only our own window's top frame, loaded from our own files, may call the engine. */
function senderAllowed(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!win || event.sender !== win.webContents || !frame || frame.parent !== null) return false;
  return isRendererUrl(frame.url, rendererFile);
}

function registerIpc(): void {
  for (const name of methodNames) {
    ipcMain.handle(ipcChannel(name), (event, input: unknown): Promise<CallReply<unknown>> => {
      if (!senderAllowed(event)) return Promise.resolve({ ok: false, error: { code: 'unauthorized', message: 'Caller not allowed.' } });
      const target = engine;
      if (!target || engineDown) return Promise.resolve(internal(`The engine is not running: ${engineDown ?? 'unknown cause'}`));
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        target.postMessage({ id, name, input });
      });
    });
  }
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    // The layout has narrow breakpoints (as in the web host): a window of about 900 px stays usable.
    minWidth: 900,
    minHeight: 600,
    title: 'DINO Lab',
    show: false,
    webPreferences: secureWebPreferences(path.join(here, '../preload/index.cjs')),
  });
  win.once('ready-to-show', () => win?.show());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  void win.loadURL(rendererUrl(rendererFile));
  win.on('closed', () => (win = null));
}

function finishQuit(): void {
  if (quitting === 'done') return;
  quitting = 'done';
  app.quit();
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
  startEngine();
  registerIpc();
  createWindow();
});

// Ctrl+Q / app.quit() does not emit window-all-closed (Electron's app docs): quit is held in
// before-quit until the engine has cancelled its jobs and closed the database, at most QUIT_WAIT_MS.
app.on('before-quit', (e) => {
  if (quitting === 'done') return;
  e.preventDefault();
  if (quitting === 'waiting') return;
  quitting = 'waiting';
  if (restartTimer) clearTimeout(restartTimer);
  if (!engine) {
    finishQuit();
    return;
  }
  engine.postMessage({ shutdown: true });
  setTimeout(() => {
    engine?.kill();
    finishQuit();
  }, QUIT_WAIT_MS).unref();
});

app.on('window-all-closed', () => app.quit());
