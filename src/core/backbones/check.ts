/**
 * Checks an ONNX backbone (inspectOnnx: load, one test run, output shape and values) in a child process
 * with a time limit, so a huge or hostile model can stall or crash only that child. The desktop engine,
 * the web host and the CLI all add backbones through this.
 */
import { fork } from 'node:child_process';
import { resolveEntry } from '../entry';
import { LabError, type LabErrorCode } from '../errors';
import type { OnnxBackboneInfo } from './inspect';

/** How long a check may take by default (a large fp32 model loads and runs once within this on a slow CPU). */
export const BACKBONE_CHECK_TIMEOUT_MS = 120_000;

type Reply = { ok: true; info: OnnxBackboneInfo } | { ok: false; error: { code: LabErrorCode; message: string; details?: Record<string, unknown> } };

export function inspectOnnxIsolated(file: string, timeoutMs = BACKBONE_CHECK_TIMEOUT_MS): Promise<OnnxBackboneInfo> {
  const entry = resolveEntry(import.meta.url, 'inspect-process');
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env };
    // Inside Electron's utility process (the desktop engine) the child must run as plain Node.
    if (process.versions.electron) env.ELECTRON_RUN_AS_NODE = '1';
    const child = fork(entry.file, [], { execArgv: entry.execArgv, env, stdio: ['ignore', 'ignore', 'pipe', 'ipc'], serialization: 'json' });
    let stderr = '';
    let reply: Reply | null = null;
    let timedOut = false;
    child.stderr!.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-2000)));
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('message', (m: Reply) => (reply = m));
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new LabError('internal', `Could not start the model check: ${err.message}`));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const r = reply as Reply | null;
      if (r?.ok) return resolve(r.info);
      if (r) return reject(new LabError(r.error.code, r.error.message, r.error.details));
      if (timedOut) {
        return reject(new LabError('bad_model', `Checking ${file} took longer than ${Math.round(timeoutMs / 1000)} s (loading it and running it on one image): it was stopped. Is it a DINOv2-sized image backbone?`));
      }
      const last = stderr.trim().split('\n').slice(-1)[0] ?? '';
      reject(new LabError('bad_model', `The model check of ${file} ended without an answer (${signal ? `signal ${signal}` : `exit code ${code}`})${last ? `: ${last.slice(0, 300)}` : ''}. The model may be too large for this machine or malformed.`));
    });
    child.send({ file });
  });
}
