/**
 * The body of a job process (a Node child process under the web host and the CLI, forked from the
 * engine under Electron; its entry is core/job-process.ts). It runs one job, reports progress to its
 * parent and exits. It opens its own database connection; the parent owns the `jobs` rows. If the
 * parent goes away, the job is abandoned (the parent marks it interrupted on its next start).
 */
import { formatZodError } from '../../shared/contract';
import { openDatabase } from '../db/database';
import { LabError, toLabError } from '../errors';
import type { FromJob, ToJob } from './protocol';
import type { JobRegistry } from './types';

const controller = new AbortController();

function send(msg: FromJob): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send || !process.connected) return resolve();
    process.send(msg, undefined, undefined, () => resolve());
  });
}

let lastProgress = 0;
let started = false;

/** Makes this process a job process: it waits for its one 'run' message, runs it with the kind's declaration and exits. */
export function serveJobProcess(registry: JobRegistry): void {
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
      void run(registry, raw);
    }
  });
}

async function run(registry: JobRegistry, msg: Extract<ToJob, { type: 'run' }>): Promise<void> {
  let db: ReturnType<typeof openDatabase> | null = null;
  try {
    const def = registry[msg.kind];
    if (!def) throw new Error(`No job kind ${msg.kind}`);
    const parsed = def.params.safeParse(msg.params);
    if (!parsed.success) throw new LabError('invalid_input', `Invalid params for a ${msg.kind} job: ${formatZodError(parsed.error)}`);
    db = openDatabase(msg.dbPath, { skipIntegrityCheck: true });
    const result = await def.run(parsed.data, {
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
