/**
 * The engine process under Electron (a utilityProcess): owns the database and the job manager, answers
 * calls from the main process and forwards events. Keeping it out of the main process means neither
 * a long SQLite query nor a job start can freeze the window.
 */
import { Lab } from '../core/lab';

interface ParentPort {
  on(ev: 'message', fn: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}
const port = (process as unknown as { parentPort: ParentPort }).parentPort;

const lab = new Lab({ host: 'electron', dbPath: process.env.DINOLAB_DB, dataDir: process.env.DINOLAB_DATA_DIR });
lab.subscribe((event) => port.postMessage({ event }));

port.on('message', (e) => {
  const msg = e.data as { id: number; name: string; input: unknown } | { shutdown: true };
  if ('shutdown' in msg) {
    void lab.close().then(() => process.exit(0));
    return;
  }
  void lab.dispatch(msg.name, msg.input).then((reply) => port.postMessage({ id: msg.id, reply }));
});
