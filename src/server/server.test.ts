import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { projectRoot, tempDir } from '../../tests/helpers';
import { Lab } from '../core/lab';
import type { CallContext } from '../core/user-paths';
import type { CallReply } from '../shared/contract';
import { startServer, type RunningServer } from './server';

let lab: Lab;
let srv: RunningServer;
let cleanup: () => void;

beforeAll(async () => {
  const t = tempDir();
  cleanup = t.cleanup;
  const staticDir = path.join(t.dir, 'renderer');
  fs.mkdirSync(path.join(staticDir, 'assets'), { recursive: true });
  fs.writeFileSync(path.join(staticDir, 'index.html'), '<!doctype html><title>DINO Lab</title>');
  fs.writeFileSync(path.join(staticDir, 'assets', 'a.js'), 'console.log(1)');
  fs.writeFileSync(path.join(t.dir, 'secret.txt'), 'secret');
  lab = new Lab({ host: 'web', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
  srv = await startServer({ lab, staticDir, maxBodyBytes: 1024 });
});
afterAll(async () => {
  await srv.close();
  await lab.close();
  cleanup();
});

/** A raw HTTP request (fetch cannot set Host). */
function request(o: { path: string; method?: string; headers?: Record<string, string>; body?: string }): Promise<{ status: number; body: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: o.path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    if (o.body) req.write(o.body);
    req.end();
  });
}
const auth = (): Record<string, string> => ({ authorization: `Bearer ${srv.token}` });

describe('web host security', () => {
  it('binds to 127.0.0.1 by default and prints a URL that carries a 32-byte token', () => {
    expect(srv.host).toBe('127.0.0.1');
    expect(srv.token).toMatch(/^[0-9a-f]{64}$/);
    expect(srv.url).toBe(`http://127.0.0.1:${srv.port}/?token=${srv.token}`);
  });

  it('answers 401 to a call without the token', async () => {
    for (const p of ['/api/info', '/api/uploads.put', '/api/nope']) {
      const r = await request({ path: p, method: 'POST' });
      expect(r.status, p).toBe(401);
      expect(JSON.parse(r.body).error.code).toBe('unauthorized');
    }
    const wrong = await request({ path: '/api/info', method: 'POST', headers: { authorization: 'Bearer ' + 'f'.repeat(64) } });
    expect(wrong.status).toBe(401);
  });

  it('serves calls with the token and returns the envelope', async () => {
    const r = await request({ path: '/api/info', method: 'POST', headers: auth() });
    expect(r.status).toBe(200);
    const body = JSON.parse(r.body);
    expect(body.ok).toBe(true);
    expect(body.result.host).toBe('web');
    const bad = await request({ path: '/api/jobs.list', method: 'POST', headers: auth(), body: '{"limit": -3}' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toEqual({ code: 'invalid_input', message: expect.stringContaining('limit: Too small') });
  });

  it('refuses a foreign Host (DNS rebinding) and a foreign Origin even with the token', async () => {
    const h = await request({ path: '/api/info', method: 'POST', headers: { ...auth(), host: `evil.example:${srv.port}` } });
    expect(h.status).toBe(403);
    expect(JSON.parse(h.body).error.code).toBe('forbidden_host');
    const o = await request({ path: '/api/info', method: 'POST', headers: { ...auth(), origin: 'http://evil.example' } });
    expect(o.status).toBe(403);
    expect(JSON.parse(o.body).error.code).toBe('forbidden_origin');
    const same = await request({ path: '/api/info', method: 'POST', headers: { ...auth(), origin: `http://localhost:${srv.port}` } });
    expect(same.status).toBe(200);
  });

  it('sets no cookie: the page and its assets are public, every call needs the bearer or ?token=', async () => {
    const r = await request({ path: `/?token=${srv.token}` });
    expect(r.status).toBe(200);
    expect(r.headers['set-cookie']).toBeUndefined();
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-eval/);
    expect((await request({ path: '/assets/a.js' })).status).toBe(200);
    const cookieOnly = await request({ path: '/api/info', method: 'POST', headers: { cookie: `dinolab_token=${srv.token}` } });
    expect(cookieOnly.status).toBe(401);
    const junkCookie = await request({ path: `/api/info?token=${srv.token}`, method: 'POST', headers: { cookie: 'dinolab_token=junk', authorization: 'Bearer junk' } });
    expect(junkCookie.status).toBe(200);
  });

  it('answers 400 to a bad percent-escape and keeps serving', async () => {
    for (const [p, method] of [['/%E0%A4%A', 'GET'], ['/api/%E0%A4%A', 'POST']] as const) {
      const r = await request({ path: p, method, headers: auth() });
      expect(r.status, p).toBe(400);
      expect(JSON.parse(r.body).error.code).toBe('invalid_input');
    }
    expect((await request({ path: '/api/info', method: 'POST', headers: auth() })).status).toBe(200);
  });

  it('serves only files of the built renderer: no traversal, no directory listing', async () => {
    for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/', '/assets']) {
      const r = await request({ path: p, headers: auth() });
      expect(r.status, p).toBe(404);
      expect(r.body).not.toContain('secret');
    }
  });

  it('limits the request body size', async () => {
    const r = await request({ path: '/api/info', method: 'POST', headers: auth(), body: JSON.stringify({ x: 'y'.repeat(5000) }) });
    expect(r.status).toBe(413);
  });

  it('requires the token on the event socket and streams events with it', async () => {
    const denied = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/events`);
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => undefined);
    });
    expect(denied).toBe('401');
    const foreign = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/events?token=${srv.token}`, { origin: 'http://evil.example' });
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => undefined);
    });
    expect(foreign).toBe('403');
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/events`, { headers: auth() });
    await new Promise((r) => ws.on('open', r));
    const got = new Promise<{ name: string }>((resolve) => ws.on('message', (m) => resolve(JSON.parse(String(m)))));
    await request({ path: '/api/selftest.start', method: 'POST', headers: auth(), body: '{"steps":2,"stepMs":10}' });
    expect((await got).name).toMatch(/^job\./);
    ws.close();
  });
});

describe('web host failures and remote access', () => {
  it('a handler that rejects is answered 500 and logged; the host keeps serving', async () => {
    const t = tempDir();
    // A real Lab whose dispatch fails for one call, as a bug in a handler would.
    class FailingLab extends Lab {
      override async dispatch(name: string, input: unknown, ctx?: CallContext): Promise<CallReply<unknown>> {
        if (name === 'jobs.list') throw new Error('boom in a handler');
        return super.dispatch(name, input, ctx);
      }
    }
    const failing = new FailingLab({ host: 'web', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
    const lines: string[] = [];
    const s = await startServer({ lab: failing, staticDir: t.dir, log: (l) => lines.push(l) });
    try {
      const r = await fetch(`http://127.0.0.1:${s.port}/api/jobs.list`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: '{}' });
      expect(r.status).toBe(500);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('internal');
      expect(lines.join('\n')).toMatch(/POST \/api\/jobs\.list failed: Error: boom in a handler/);
      const ok = await fetch(`http://127.0.0.1:${s.port}/api/info`, { method: 'POST', headers: { authorization: `Bearer ${s.token}` }, body: '{}' });
      expect(ok.status).toBe(200);
    } finally {
      await s.close();
      await failing.close();
      t.cleanup();
    }
  });

  it('installHostGuards: an unhandled rejection in the host process is logged, not fatal', () => {
    const serverTs = path.join(projectRoot, 'src/server/server.ts');
    const script = `const { installHostGuards } = await import(${JSON.stringify(serverTs)});
installHostGuards((l) => console.error(l));
Promise.reject(new Error('nobody awaited me'));
setTimeout(() => console.log('still alive'), 100);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: projectRoot, encoding: 'utf8', timeout: 60_000 });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('still alive');
    expect(r.stderr).toMatch(/unhandled rejection \(the host keeps running\): Error: nobody awaited me/);
    // Without the guard the same script dies: the test can fail.
    const bare = spawnSync(process.execPath, ['--input-type=module', '-e', "Promise.reject(new Error('x')); setTimeout(() => console.log('still alive'), 100);"], { encoding: 'utf8', timeout: 60_000 });
    expect(bare.status).not.toBe(0);
    expect(bare.stdout).not.toContain('still alive');
  });

  it('refuses a non-loopback bind without allowRemote', async () => {
    const t = tempDir();
    const l = new Lab({ host: 'web', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
    try {
      await expect(startServer({ lab: l, host: '0.0.0.0' })).rejects.toThrow(/Refusing to listen on 0\.0\.0\.0.*--allow-remote/);
      const s = await startServer({ lab: l, host: '127.0.0.2' }).catch(() => null);
      await s?.close(); // another loopback address needs no flag (where the system has it)
    } finally {
      await l.close();
      t.cleanup();
    }
  });

  const lan = Object.values(os.networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
  // Skipped, and reported as skipped, where the machine has no non-loopback IPv4 interface to call from.
  it.skipIf(!lan)('with allowRemote: admits the machine\'s own names; a remote client\'s paths must lie under home or the data dir', async () => {
    const t = tempDir();
    const l = new Lab({ host: 'web', dbPath: path.join(t.dir, 'lab.db'), dataDir: t.dir });
    const s = await startServer({ lab: l, host: '0.0.0.0', allowRemote: true, staticDir: t.dir, log: () => undefined });
    fs.symlinkSync('/etc', path.join(t.dir, 'link-out'));
    const call = (host: string, name: string, body: unknown): Promise<{ status: number; body: { ok: boolean; error?: { code: string; message: string } } }> =>
      new Promise((resolve, reject) => {
        const data = JSON.stringify(body);
        const req = http.request({ host: lan!, localAddress: lan!, port: s.port, path: `/api/${name}`, method: 'POST', headers: { host, authorization: `Bearer ${s.token}`, 'content-length': Buffer.byteLength(data) } }, (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
        });
        req.on('error', reject);
        req.end(data);
      });
    try {
      expect((await call(`${lan}:${s.port}`, 'info', {})).status).toBe(200);
      expect((await call(`${os.hostname()}:${s.port}`, 'info', {})).status).toBe(200);
      expect((await call(`evil.example:${s.port}`, 'info', {})).status).toBe(403);
      const outside: [string, unknown][] = [
        ['datasets.import', { source: { type: 'folder', path: '/etc' } }],
        ['datasets.import', { source: { type: 'folder', path: path.join(t.dir, 'link-out') } }],
        ['datasets.import', { source: { type: 'cifar', path: '../../etc' } }],
        ['backbones.add', { file: '/etc/passwd' }],
        ['embeddings.export', { setId: 1, outDir: '/tmp/dinolab-out' }],
        ['runs.export', { id: 1, outDir: os.tmpdir() }],
      ];
      for (const [name, body] of outside) {
        const r = await call(`${lan}:${s.port}`, name, body);
        expect(r.status, `${name} ${JSON.stringify(body)}`).toBe(400);
        expect(r.body.error?.code).toBe('invalid_input');
        expect(r.body.error?.message).toMatch(/a path from a remote client must lie under your home \(.+\) or the data directory/);
      }
      // A relative path resolves against the home, not the server's working directory (where src/ exists).
      expect(fs.existsSync(path.join(process.cwd(), 'src'))).toBe(true);
      const rel = await call(`${lan}:${s.port}`, 'datasets.import', { source: { type: 'folder', path: 'src' } });
      expect(rel.body.error?.code).toBe('not_found');
      // Inside the data directory passes the policy (and then fails on its own terms).
      const inData = await call(`${lan}:${s.port}`, 'datasets.import', { source: { type: 'folder', path: path.join(t.dir, 'missing') } });
      expect(inData.body.error?.code).toBe('not_found');
      expect(counts(l)).toBe(0);
    } finally {
      await s.close();
      await l.close();
      t.cleanup();
    }
  });
});

function counts(l: Lab): number {
  return (l.db.prepare('SELECT COUNT(*) AS n FROM jobs').get() as { n: number }).n;
}
