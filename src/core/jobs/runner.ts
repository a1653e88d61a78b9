/**
 * Entry point of a job process (a Node child process under the web host and the CLI, forked from the
 * engine under Electron). It runs one job, reports progress to its parent and exits. It opens its own
 * database connection; the parent owns the `jobs` rows. If the parent goes away, the job is abandoned
 * (the parent marks it interrupted on its next start).
 */
import { openDatabase } from '../db/database';
import { toLabError } from '../errors';
import { jobHandlers } from './handlers';
import type { FromJob, ToJob } from './protocol';

const controller = new AbortController();

function send(msg: FromJob): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

let lastProgress = 0;
let started = false;

process.on('disconnect', () => {
  controller.abort();
  setTimeout(() => process.exit(1), 2000).unref();
});

process.on('message', (raw: ToJob) => {
  if (raw.type === 'cancel') {
    controller.abort();
    return;
  }
  if (raw.type === 'run' && !started) {
    started = true;
    void run(raw);
  }
});

async function run(msg: Extract<ToJob, { type: 'run' }>): Promise<void> {
  let db: ReturnType<typeof openDatabase> | null = null;
  try {
    const handler = jobHandlers[msg.kind];
    if (!handler) throw new Error(`No job handler for kind ${msg.kind}`);
    db = openDatabase(msg.dbPath, { skipIntegrityCheck: true });
    const result = await handler(msg.params, {
      jobId: msg.jobId,
      db,
      dbPath: msg.dbPath,
      dataDir: msg.dataDir,
      signal: controller.signal,
      progress(phase, done, total, extra) {
        const now = Date.now();
        // Throttle to ~10 messages/s, but always pass the last step of a phase through.
        if (done < total && now - lastProgress < 100) return;
        lastProgress = now;
        void send({ type: 'progress', phase, done, total, ratePerSec: extra?.ratePerSec ?? null, etaSec: extra?.etaSec ?? null });
      },
      epoch(runId, epoch, logs) {
        void send({ type: 'epoch', runId, epoch, logs });
      },
    });
    if (controller.signal.aborted) await send({ type: 'cancelled' });
    else await send({ type: 'done', result: result ?? null });
  } catch (err) {
    const e = toLabError(err);
    if (e.code === 'cancelled' || controller.signal.aborted) await send({ type: 'cancelled' });
    else await send({ type: 'failed', code: e.code, message: e.message });
  } finally {
    try {
      db?.close();
    } catch {
      /* closing a connection that failed to open */
    }
    process.exit(0);
  }
}
