/** Shared helpers of the fault suite (issue 7): database checks, waiting, a `dinolab serve` child. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Lab } from '../../src/core/lab';
import type { LabEvent } from '../../src/shared/contract';
import { projectRoot } from '../helpers';

export const cliBin = path.join(projectRoot, 'bin', 'dinolab.js');

/** PRAGMA integrity_check of a database file, through a fresh read-only connection. */
export function integrity(dbPath: string): string {
  const db = new Database(dbPath, { readonly: true });
  try {
    return (db.pragma('integrity_check') as { integrity_check: string }[])[0]!.integrity_check;
  } finally {
    db.close();
  }
}

/** Row counts of the given tables, through a fresh read-only connection. */
export function counts(dbPath: string, tables: string[]): Record<string, number> {
  const db = new Database(dbPath, { readonly: true });
  try {
    return Object.fromEntries(tables.map((t) => [t, (db.prepare(`SELECT COUNT(*) AS n FROM ${t}`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(fn: () => T | Promise<T>, timeoutMs = 30_000, what = 'condition', stepMs = 20): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(stepMs);
  }
}

/** Resolves with the first event for which `pred` holds. */
export function nextEvent(lab: Lab, pred: (ev: LabEvent) => boolean, timeoutMs = 60_000): Promise<LabEvent> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for an event'));
    }, timeoutMs);
    const off = lab.subscribe((ev) => {
      if (pred(ev)) {
        clearTimeout(timer);
        off();
        resolve(ev);
      }
    });
  });
}

/** Names of every file under `dir` (recursively), relative to it. */
export function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return (fs.readdirSync(dir, { recursive: true }) as string[]).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

/** Entries of the system temp directory, to check a test created nothing outside its own temp dir. */
export function tmpEntries(): Set<string> {
  return new Set(fs.readdirSync(os.tmpdir()));
}

/** A `dinolab serve` child on an ephemeral port, with its data dir and database in `dir`. */
export interface ServeChild {
  proc: ChildProcess;
  origin: string;
  port: number;
  token: string;
  stderr: () => string;
  call: (name: string, input: unknown) => Promise<{ status: number; body: { ok: boolean; result?: unknown; error?: { code: string; message: string } } }>;
  stop: () => Promise<void>;
}

export async function startServe(dir: string, dbPath = path.join(dir, 'lab.db'), extraArgs: string[] = []): Promise<ServeChild> {
  const proc = spawn(process.execPath, [cliBin, '--db', dbPath, 'serve', '--port', '0', '--json', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DINOLAB_DATA_DIR: dir },
  });
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 60_000);
    proc.stdout!.on('data', (c: Buffer) => {
      buf += c.toString();
      const line = buf.split('\n').find((l) => l.startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { url: string }).url);
      }
    });
    proc.once('exit', (code) => reject(new Error(`serve exited (${code}): ${err}`)));
  });
  const u = new URL(url);
  const token = u.searchParams.get('token')!;
  return {
    proc,
    origin: u.origin,
    port: Number(u.port),
    token,
    stderr: () => err,
    async call(name, input) {
      const res = await fetch(`${u.origin}/api/${name}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(input),
      });
      return { status: res.status, body: (await res.json()) as never };
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

/** Whether a process id is alive. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes raw bytes on a fresh TCP connection (closing its side after them with `endAfterWrite`) and
 * collects what comes back until one whole response is in, the server closes the connection, or
 * `waitMs` passes. Never rejects: a reset is part of the answer.
 */
export function rawExchange(port: number, data: Buffer | string, waitMs = 1500, endAfterWrite = false): Promise<{ text: string; closed: boolean; error?: string }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let error: string | undefined;
    const sock = net.connect(port, '127.0.0.1');
    const done = (closed: boolean): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closed, ...(error ? { error } : {}) });
    };
    const timer = setTimeout(() => done(false), waitMs);
    sock.on('connect', () => (endAfterWrite ? sock.end(data) : sock.write(data)));
    sock.on('data', (c: Buffer) => {
      chunks.push(c);
      // One complete response (headers and a Content-Length body) is the whole answer.
      const all = Buffer.concat(chunks);
      const end = all.indexOf('\r\n\r\n');
      if (end < 0) return;
      const len = /\r\ncontent-length: *(\d+)/i.exec(all.subarray(0, end).toString('latin1'));
      if (len && all.length >= end + 4 + Number(len[1])) done(false);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    sock.on('close', () => done(true));
  });
}

/** POST /api/info with the token on a fresh connection: the status, or 0 when nothing answers. */
export function infoStatus(port: number, token: string, timeoutMs = 5000): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/api/info', method: 'POST', agent: false, headers: { authorization: `Bearer ${token}`, 'content-length': '2' }, timeout: timeoutMs }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end('{}');
  });
}
