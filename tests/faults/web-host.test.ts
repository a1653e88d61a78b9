/**
 * The web host end to end (issue 7): a real `dinolab serve` child process, plain HTTP requests and
 * WebSockets from outside it. src/server/server.test.ts checks startServer in-process; this re-asserts
 * the same guarantees on the shipped command and records each one.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { WebSocket } from 'ws';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { projectRoot, tempDir } from '../helpers';
import { record } from './record';
import { cliBin, counts, infoStatus, rawExchange, startServe, waitFor, type ServeChild } from './util';

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

  it('every call needs the token; the built renderer (pages, assets) is public and sets no cookie', async () => {
    const asset = `/assets/${fs.readdirSync(path.join(projectRoot, 'out/renderer/assets'))[0]}`;
    const targets: [string, string][] = [['POST', '/api/info'], ['POST', '/api/datasets.import'], ['POST', '/api/uploads.put'], ['POST', '/api/nope']];
    const seen: string[] = [];
    // The right token in a cookie no longer admits anything: the cookie is gone (issue 12).
    const credentials = [{}, { authorization: `Bearer ${wrong()}` }, { cookie: `dinolab_token=${wrong()}` }, { cookie: `dinolab_token=${srv.token}` }, { authorization: 'Bearer ' }] as Record<string, string>[];
    for (const [method, p] of targets) {
      for (const headers of credentials) {
        const r = await request({ path: p, method, headers, body: method === 'POST' ? '{}' : undefined });
        expect(r.status, `${method} ${p} ${JSON.stringify(headers)}`).toBe(401);
        expect(JSON.parse(r.body)).toEqual({ ok: false, error: { code: 'unauthorized', message: 'A valid token is required: open the URL DINO Lab printed when it started.' } });
      }
      seen.push(`${method} ${p}`);
    }
    expect((await request({ path: '/api/info', method: 'POST', headers: auth(), body: '{}' })).status).toBe(200);
    for (const p of ['/', '/index.html', asset, `/?token=${srv.token}`]) {
      const r = await request({ path: p });
      expect(r.status, p).toBe(200);
      expect(r.headers['set-cookie'], p).toBeUndefined();
    }
    expect((await request({ path: '/nope' })).status).toBe(404);
    expect(counts(path.join(t.dir, 'lab.db'), ['jobs', 'datasets'])).toEqual({ jobs: 0, datasets: 0 });
    record({
      fault: `${targets.length} calls x ${credentials.length} credentials (none, wrong bearer, wrong cookie, the right token as a cookie, empty bearer); pages and assets without a token`,
      outcome: '401 unauthorized for every call; 200 with the bearer token; pages and assets served without a token and without Set-Cookie',
      checked: `calls: ${seen.join(', ')}; no job or dataset created`,
    });
  });

  it('a junk token planted beside the real one (cookie, ?token=) does not lock the user out', async () => {
    const cases: [string, Record<string, string>][] = [
      ['/api/info', { ...auth(), cookie: `dinolab_token=${wrong()}` }],
      [`/api/info?token=${wrong()}`, auth()],
      [`/api/info?token=${srv.token}`, { authorization: `Bearer ${wrong()}` }],
    ];
    for (const [p, headers] of cases) {
      const r = await request({ path: p, method: 'POST', headers, body: '{}' });
      expect(r.status, `${p} ${JSON.stringify(headers)}`).toBe(200);
    }
    const ws = await socket(`?token=${srv.token}`, { headers: { cookie: `dinolab_token=${wrong()}` } });
    expect(ws.result).toBe('open');
    ws.ws!.close();
    record({
      fault: 'the right token together with a wrong one (junk cookie, junk ?token=, junk bearer), on a call and on the event socket',
      outcome: '200 / socket open: any valid token admits the request',
      checked: 'status of /api/info and the WebSocket upgrade',
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

/** The malformed-input cases of issue 12: each used to stop the host; now each is answered and the host keeps serving. */
describe('malformed requests never stop the host (issue 12)', () => {
  const handshake = (p: string, extra = ''): string =>
    `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n${extra}\r\n`;

  beforeEach(async () => {
    // A case that killed the host must not take the next one down with it.
    if ((await infoStatus(srv.port, srv.token)) !== 200) {
      await srv.stop();
      srv = await startServe(t.dir);
    }
  });

  async function expectAlive(what: string): Promise<void> {
    expect(await infoStatus(srv.port, srv.token), `host answers /api/info after ${what} (stderr: ${srv.stderr().slice(-400)})`).toBe(200);
    expect(srv.proc.exitCode, what).toBeNull();
  }

  it('a request line whose target is not a URL (GET http://[) is answered 400, with and without a token, also as a WebSocket upgrade', async () => {
    const cases: [string, string][] = [
      ['plain, no token', `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n\r\n`],
      ['plain, with the token', `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nAuthorization: Bearer ${srv.token}\r\n\r\n`],
      ['WebSocket upgrade, no token', handshake('http://[')],
      ['WebSocket upgrade, with the token', handshake('http://[', `Authorization: Bearer ${srv.token}\r\n`)],
    ];
    for (const [what, data] of cases) {
      const r = await rawExchange(srv.port, data);
      expect(r.text, what).toMatch(/^HTTP\/1\.1 400 /);
      await expectAlive(what);
    }
    record({
      fault: 'raw request lines `GET http://[ HTTP/1.1` (target that is not a URL), plain and as a WebSocket upgrade, with and without the token',
      outcome: '400 each time',
      checked: 'the host process is alive and answers /api/info with the token after each',
    });
  });

  it('a bad percent-escape in the path (/%E0%A4%A, /api/%E0%A4%A, /events/%E0) is answered 400 with the token', async () => {
    const page = await request({ path: '/%E0%A4%A', headers: auth() });
    expect(page.status).toBe(400);
    expect(JSON.parse(page.body).error.code).toBe('invalid_input');
    await expectAlive('GET /%E0%A4%A');
    const api = await request({ path: '/api/%E0%A4%A', method: 'POST', headers: auth(), body: '{}' });
    expect(api.status).toBe(400);
    await expectAlive('POST /api/%E0%A4%A');
    const ws = await rawExchange(srv.port, handshake(`/events%E0%A4%A?token=${srv.token}`));
    expect(ws.text).toMatch(/^HTTP\/1\.1 (400|404) /);
    await expectAlive('upgrade on /events%E0%A4%A');
    record({
      fault: 'paths with a truncated UTF-8 percent-escape (/%E0%A4%A) on a page, a call and the event socket, with the token',
      outcome: '400 invalid_input for the page and the call; the upgrade is refused',
      checked: 'the host is alive and answers /api/info after each',
    });
  });

  it('a WebSocket frame over the size limit closes that socket with 1009 and the host keeps serving', { timeout: 30_000 }, async () => {
    const { result, ws } = await socket('', { headers: auth() });
    expect(result).toBe('open');
    const closed = new Promise<number>((resolve) => ws!.on('close', (code) => resolve(code)));
    ws!.on('error', () => undefined);
    ws!.send(Buffer.alloc(200 * 1024, 0x61));
    expect(await closed).toBe(1009);
    await expectAlive('a 200 KiB frame');
    const again = await socket('', { headers: auth() });
    expect(again.result).toBe('open');
    again.ws!.close();
    record({
      fault: 'a 200 KiB WebSocket frame on /events (limit 64 KiB)',
      outcome: 'the socket is closed with 1009 (message too big)',
      checked: 'the host is alive, answers /api/info and accepts a new socket',
    });
  });
});

describe('`dinolab serve --host` other than loopback (issue 12)', () => {
  it('refuses a non-loopback bind without --allow-remote; with it, warns that the token crosses the network in clear and answers to the machine\'s own names', async () => {
    const refused = spawnSync(process.execPath, [cliBin, '--db', path.join(t.dir, 'remote.db'), 'serve', '--host', '0.0.0.0', '--port', '0', '--json'], { encoding: 'utf8', timeout: 60_000 });
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/Refusing to listen on 0\.0\.0\.0: it is not a loopback address.*Pass --allow-remote/);
    const remote = await startServe(t.dir, path.join(t.dir, 'remote.db'), ['--host', '0.0.0.0', '--allow-remote']);
    try {
      await waitFor(() => /WARNING: listening on 0\.0\.0\.0/.test(remote.stderr()), 10_000, 'the warning');
      expect(remote.stderr()).toMatch(/plain HTTP: the token, and everything you do, crosses the network in clear/);
      const byName = await new Promise<number>((resolve) => {
        const req = http.request({ host: '127.0.0.1', port: remote.port, path: '/api/info', method: 'POST', headers: { host: `${os.hostname()}:${remote.port}`, authorization: `Bearer ${remote.token}` } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', () => resolve(0));
        req.end('{}');
      });
      expect(byName).toBe(200);
    } finally {
      await remote.stop();
    }
    record({
      fault: '`dinolab serve --host 0.0.0.0` without and with --allow-remote',
      outcome: 'without: exits non-zero ("Refusing to listen on 0.0.0.0 ... Pass --allow-remote"); with: serves, warns that the token crosses the network in clear',
      checked: `exit status and message; with the flag, a call with Host ${os.hostname()}:<port> is answered 200`,
    });
  });
});
