/**
 * The engine process under Electron (a utilityProcess): owns the database and the job manager, answers
 * calls from the main process and forwards events. Keeping it out of the main process means neither
 * a long SQLite query nor a job start can freeze the window. When it cannot start (the database cannot
 * be opened, better-sqlite3 does not load), it tells the main process why before exiting, so the window
 * shows the real cause.
 */
import { Lab } from '../core/lab';

interface ParentPort {
  on(ev: 'message', fn: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}
const port = (process as unknown as { parentPort: ParentPort }).parentPort;

function openLab(): Lab | null {
  try {
    return new Lab({ host: 'electron', dbPath: process.env.DINOLAB_DB, dataDir: process.env.DINOLAB_DATA_DIR });
  } catch (err) {
    const e = err as { code?: string; message?: string };
    console.error(err);
    port.postMessage({ fatal: { code: e.code ?? 'internal', message: e.message ?? String(err) } });
    // Let the message reach the main process before exiting.
    setTimeout(() => process.exit(1), 200);
    return null;
  }
}

const lab = openLab();
if (lab) {
  lab.subscribe((event) => port.postMessage({ event }));
  port.on('message', (e) => {
    const msg = e.data as { id: number; name: string; input: unknown } | { shutdown: true };
    if ('shutdown' in msg) {
      void lab.close().then(() => process.exit(0));
      return;
    }
    void lab.dispatch(msg.name, msg.input).then((reply) => port.postMessage({ id: msg.id, reply }));
  });
}
