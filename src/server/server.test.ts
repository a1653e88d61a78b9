import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers';
import { Lab } from '../core/lab';
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

  it('answers 401 to a call, a page or an asset without the token', async () => {
    for (const p of ['/api/info', '/', '/assets/a.js']) {
      const r = await request({ path: p, method: p.startsWith('/api') ? 'POST' : 'GET' });
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

  it('sets an HttpOnly cookie from the start URL so the page keeps the token', async () => {
    const r = await request({ path: `/?token=${srv.token}` });
    expect(r.status).toBe(200);
    expect(String(r.headers['set-cookie'])).toMatch(/dinolab_token=[0-9a-f]{64}; HttpOnly; SameSite=Strict/);
    expect(r.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(r.headers['content-security-policy']).not.toMatch(/unsafe-eval/);
    const withCookie = await request({ path: '/assets/a.js', headers: { cookie: `dinolab_token=${srv.token}` } });
    expect(withCookie.status).toBe(200);
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
