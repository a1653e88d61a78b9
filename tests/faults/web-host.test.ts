/**
 * The web host end to end (issue 7): a real `dinolab serve` child process, plain HTTP requests and
 * WebSockets from outside it. src/server/server.test.ts checks startServer in-process; this re-asserts
 * the same guarantees on the shipped command and records each one.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../helpers';
import { record } from './record';
import { counts, startServe, type ServeChild } from './util';

const t = tempDir('dinolab-web-');
let srv: ServeChild;

beforeAll(async () => {
  srv = await startServe(t.dir);
});
afterAll(async () => {
  await srv?.stop();
  t.cleanup();
});

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A raw HTTP request (fetch cannot set Host), with an optional streamed body of `streamBytes`. */
function request(o: { path: string; method?: string; headers?: Record<string, string>; body?: string; streamBytes?: number }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: srv.port, path: o.path, method: o.method ?? 'GET', headers: o.headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(e)));
    if (o.streamBytes) {
      const chunk = Buffer.alloc(1 << 20, 0x20);
      let sent = 0;
      const pump = (): void => {
        while (sent < o.streamBytes!) {
          sent += chunk.length;
          if (!req.write(chunk)) return void req.once('drain', pump);
        }
        req.end();
      };
      pump();
    } else req.end(o.body);
  });
}

const auth = (): Record<string, string> => ({ authorization: `Bearer ${srv.token}` });
const wrong = (): string => srv.token.replace(/./, (c) => (c === 'a' ? 'b' : 'a'));

function socket(query: string, opts: { headers?: Record<string, string>; origin?: string } = {}): Promise<{ result: string; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/events${query}`, opts);
    ws.on('unexpected-response', (_req, res) => resolve({ result: String(res.statusCode) }));
    ws.on('open', () => resolve({ result: 'open', ws }));
    ws.on('error', () => undefined);
  });
}

describe('web host (`dinolab serve` child process)', () => {
  it('binds to 127.0.0.1 and prints a URL with a 32-byte token', () => {
    expect(srv.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(srv.token).toMatch(/^[0-9a-f]{64}$/);
    record({ fault: 'default bind address and token of `dinolab serve`', outcome: `${srv.origin}, token of 64 hex digits`, checked: 'URL printed by the child (--json)' });
  });

  it('every HTTP request needs the token: calls, pages, assets, unknown paths', async () => {
    const asset = `/assets/${fs.readdirSync(path.join(projectRoot, 'out/renderer/assets'))[0]}`;
    const targets: [string, string][] = [['POST', '/api/info'], ['POST', '/api/datasets.import'], ['GET', '/'], ['GET', '/index.html'], ['GET', asset], ['GET', '/nope'], ['GET', '/events']];
    const seen: string[] = [];
    for (const [method, p] of targets) {
      for (const headers of [{}, { authorization: `Bearer ${wrong()}` }, { cookie: `dinolab_token=${wrong()}` }, { authorization: 'Bearer ' }] as Record<string, string>[]) {
        const r = await request({ path: p, method, headers, body: method === 'POST' ? '{}' : undefined });
        expect(r.status, `${method} ${p} ${JSON.stringify(headers)}`).toBe(401);
        expect(JSON.parse(r.body)).toEqual({ ok: false, error: { code: 'unauthorized', message: 'A valid token is required: open the URL DINO Lab printed when it started.' } });
      }
      seen.push(`${method} ${p}`);
    }
    expect((await request({ path: '/api/info', method: 'POST', headers: auth(), body: '{}' })).status).toBe(200);
    expect((await request({ path: asset, headers: auth() })).status).toBe(200);
    expect(counts(path.join(t.dir, 'lab.db'), ['jobs', 'datasets'])).toEqual({ jobs: 0, datasets: 0 });
    record({
      fault: `${targets.length} paths x 4 credentials (none, wrong bearer, wrong cookie, empty bearer)`,
      outcome: '401 unauthorized every time; 200 with the token',
      checked: `paths: ${seen.join(', ')}; no job or dataset created`,
    });
  });

  it('the WebSocket needs the token and a same-origin Origin', async () => {
    const none = await socket('');
    const bad = await socket(`?token=${wrong()}`);
    const foreign = await socket(`?token=${srv.token}`, { origin: 'http://evil.example' });
    const otherPath = await new Promise<string>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${srv.port}/other`, { headers: auth() });
      ws.on('unexpected-response', (_q, res) => resolve(String(res.statusCode)));
      ws.on('open', () => resolve('open'));
      ws.on('error', () => undefined);
    });
    expect([none.result, bad.result, foreign.result, otherPath]).toEqual(['401', '401', '403', '404']);
    const ok = await socket('', { headers: auth() });
    expect(ok.result).toBe('open');
    const got = new Promise<{ name: string }>((resolve) => ok.ws!.on('message', (m) => resolve(JSON.parse(String(m)) as { name: string })));
    await srv.call('selftest.start', { steps: 2, stepMs: 10 });
    expect((await got).name).toMatch(/^job\./);
    ok.ws!.close();
    record({
      fault: 'WebSocket /events without token, with a wrong token, with the token from Origin http://evil.example, and on another path',
      outcome: '401, 401, 403, 404; with the bearer token it opens and streams job events',
      checked: 'upgrade status codes; first event after selftest.start',
    });
  });

  it('a foreign Host (DNS rebinding) or Origin is refused even with the token', async () => {
    const cases: [Record<string, string>, number, string][] = [
      [{ host: `evil.example:${srv.port}` }, 403, 'forbidden_host'],
      [{ host: `127.0.0.1.nip.io:${srv.port}` }, 403, 'forbidden_host'],
      [{ host: '127.0.0.1' }, 403, 'forbidden_host'],
      [{ origin: 'http://evil.example' }, 403, 'forbidden_origin'],
      [{ origin: 'null' }, 403, 'forbidden_origin'],
      [{ origin: `https://127.0.0.1:${srv.port}` }, 403, 'forbidden_origin'],
      [{ origin: `http://127.0.0.1:${srv.port + 1}` }, 403, 'forbidden_origin'],
    ];
    for (const [h, status, code] of cases) {
      const r = await request({ path: '/api/selftest.start', method: 'POST', headers: { ...auth(), 'content-type': 'application/json', ...h }, body: '{"steps":1}' });
      expect(r.status, JSON.stringify(h)).toBe(status);
      expect(JSON.parse(r.body).error.code).toBe(code);
    }
    const local = await request({ path: '/api/info', method: 'POST', headers: { ...auth(), host: `localhost:${srv.port}`, origin: `http://localhost:${srv.port}` }, body: '{}' });
    expect(local.status).toBe(200);
    expect(counts(path.join(t.dir, 'lab.db'), ['jobs']).jobs).toBeLessThanOrEqual(1); // only the WebSocket case's self-test
    record({
      fault: `${cases.length} requests with the token but a foreign Host (evil.example, 127.0.0.1.nip.io, no port) or Origin (evil.example, null, https, other port)`,
      outcome: '403 forbidden_host / forbidden_origin; localhost:<port> with its own Origin is served',
      checked: 'status and error code; no self-test job started by the refused calls',
    });
  });

  it('request bodies are limited (64 MB) by Content-Length and while streaming; bad JSON is a clear error', async () => {
    const declared = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: srv.port, path: '/api/uploads.put', method: 'POST', headers: { ...auth(), 'content-length': String(65 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(e)));
      req.write('{"name":"x","dataBase64":"');
    });
    expect(declared).toBe(413);
    const streamed = await request({ path: '/api/uploads.put', method: 'POST', headers: { ...auth(), 'transfer-encoding': 'chunked' }, streamBytes: 66 * 1024 * 1024 });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toEqual({ ok: false, error: { code: 'too_large', message: 'Request larger than 64 MB.' } });
    const badJson = await request({ path: '/api/info', method: 'POST', headers: auth(), body: '{"not json' });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).error).toEqual({ code: 'invalid_input', message: 'The request body is not valid JSON.' });
    const alive = await request({ path: '/api/info', method: 'POST', headers: auth(), body: '{}' });
    expect(alive.status).toBe(200);
    expect(fs.existsSync(path.join(t.dir, 'uploads')) ? fs.readdirSync(path.join(t.dir, 'uploads')) : []).toEqual([]);
    record({
      fault: 'POST with Content-Length 65 MB; a chunked 66 MB body; a body that is not JSON',
      outcome: '413 too_large ("Request larger than 64 MB.") for both; 400 invalid_input ("The request body is not valid JSON.")',
      checked: 'host still answers; nothing stored under uploads/',
    });
  });

  it('static files only from the built renderer: no traversal, no directory listing, CSP on the page', async () => {
    const paths = ['/assets/', '/assets', '/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fpackage.json', '//etc/passwd', '/assets/../../main/cli.js', '/%2e%2e/main/cli.js'];
    for (const p of paths) {
      const r = await request({ path: p, headers: auth() });
      expect(r.status, p).toBe(404);
      expect(r.body, p).not.toMatch(/"name": "dino-lab"|root:x:0|index-[\w-]+\.js|#!\/usr/);
    }
    const page = await request({ path: '/', headers: auth() });
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self';/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-eval/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    const put = await request({ path: '/index.html', method: 'PUT', headers: auth(), body: 'x' });
    expect(put.status).toBe(405);
    const getApi = await request({ path: '/api/info', headers: auth() });
    expect(getApi.status).toBe(405);
    record({
      fault: `${paths.length} traversal / directory paths (/assets/, ../, %2e%2e, ..%2f, //etc/passwd, /assets/../../main/cli.js, ...), PUT on a page, GET on a call`,
      outcome: '404 for every path, 405 for PUT and GET /api/*; index.html served with a CSP without unsafe-eval and X-Frame-Options DENY',
      checked: 'no file outside out/renderer returned, no listing',
    });
  });
});
