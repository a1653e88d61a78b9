/**
 * Raw-socket fuzz of the web host (issue 12): a `dinolab serve` child process receives seeded
 * malformed request lines, headers, bodies, WebSocket handshakes and WebSocket frames, with and
 * without the token. After every case the host must still answer /api/info with the token; its RSS
 * (read from /proc/<pid>/status) must stay bounded over the run.
 *
 * DINOLAB_SOCKET_FUZZ_CASES (default 500) and DINOLAB_SOCKET_FUZZ_SEED (default 12) change the run;
 * the seed is in the report, so any failure can be replayed.
 */
import fs from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers';
import { mulberry32 } from '../../src/core/math/prng';
import { record } from './record';
import { infoStatus, rawExchange, startServe, type ServeChild } from './util';

const CASES = Number(process.env.DINOLAB_SOCKET_FUZZ_CASES ?? 500);
const SEED = Number(process.env.DINOLAB_SOCKET_FUZZ_SEED ?? 12);
const RSS_GROWTH_LIMIT = 150 * 1024 * 1024;

const t = tempDir('dinolab-sockfuzz-');
let srv: ServeChild;

beforeAll(async () => {
  srv = await startServe(t.dir);
});
afterAll(async () => {
  await srv?.stop();
  t.cleanup();
});

function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

type Rng = () => number;
const int = (r: Rng, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rng, xs: readonly T[]): T => xs[int(r, xs.length)]!;
function bytes(r: Rng, n: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}
/** A random string from characters that trip parsers: brackets, percent signs, controls, non-ASCII. */
function nasty(r: Rng, n: number): string {
  const alphabet = ['[', ']', '%', '%E0', '%A4', '%ZZ', '%', '/', '..', '?', '#', '@', ':', '\\', ' ', '\t', '\u0000', '\u00e9', '\u{1F600}', 'a', 'Z', '0', '&', '=', 'http://', '//', ';', '"', "'", '<', '>', '{', '}'];
  let s = '';
  for (let i = 0; i < n; i++) s += pick(r, alphabet);
  return s;
}

const METHODS = ['GET', 'POST', 'HEAD', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH', 'G\u00c9T', 'get', '', 'GET GET', 'PRI'];
const TARGETS = ['/', '/api/info', '/api/', '/api/jobs.list', '/events', '/index.html', '/assets/', 'http://[', 'http://[::1', '*', 'http://127.0.0.1/', '//', '/%E0%A4%A', '/api/%E0%A4%A', '/events%E0', '/?token=%', '/api/info?token=%ZZ'];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9', 'HTTP/1.1x', '', 'HTTP/1.1 extra', 'http/1.1'];
/** Calls whose handlers never start a download or a long job, whatever the body. */
const SAFE_CALLS = ['info', 'jobs.list', 'jobs.get', 'datasets.list', 'datasets.get', 'samples.list', 'backbones.list', 'sets.list', 'runs.list', 'uploads.put', 'nope', '__proto__', 'constructor'];

interface Case {
  kind: 'request-line' | 'headers' | 'body' | 'handshake' | 'frames';
  withToken: boolean;
  desc: string;
  /** Bytes written on a fresh connection (after the handshake for 'frames'). */
  data: Buffer;
}

function makeCase(r: Rng, i: number, port: number, token: string): Case {
  const kinds: Case['kind'][] = ['request-line', 'headers', 'body', 'handshake', 'frames'];
  const kind = kinds[i % kinds.length]!;
  const withToken = r() < 0.5;
  const host = `Host: ${r() < 0.9 ? `127.0.0.1:${port}` : nasty(r, 4)}\r\n`;
  const auth = withToken ? (r() < 0.7 ? `Authorization: Bearer ${token}\r\n` : `Cookie: dinolab_token=${token}\r\n`) : '';
  const q = withToken && r() < 0.3 ? `?token=${token}` : '';
  switch (kind) {
    case 'request-line': {
      const method = r() < 0.7 ? pick(r, METHODS) : nasty(r, 1 + int(r, 6));
      const target = r() < 0.5 ? pick(r, TARGETS) + q : '/' + nasty(r, 1 + int(r, r() < 0.1 ? 3000 : 30));
      const version = pick(r, VERSIONS);
      const eol = pick(r, ['\r\n', '\n', '\r', '\r\n\r\n']);
      const line = `${method} ${target} ${version}${eol}${host}${auth}\r\n`;
      return { kind, withToken, desc: JSON.stringify(line.slice(0, 120)), data: Buffer.from(line, r() < 0.5 ? 'utf8' : 'latin1') };
    }
    case 'headers': {
      const bad = [
        () => `X-Broken ${nasty(r, 5)}\r\n`,
        () => `Content-Length: ${pick(r, ['-1', 'abc', '1e9', '99999999999999999999', '5, 6', ''])}\r\n`,
        () => `Content-Length: 3\r\nContent-Length: 7\r\n`,
        () => `Transfer-Encoding: ${pick(r, ['chunked, identity', 'gzip', 'chunked\r\nContent-Length: 5', 'xchunked'])}\r\n`,
        () => `Host: a\r\nHost: b\r\n`,
        () => `X-Long: ${'a'.repeat(int(r, 3) === 0 ? 20_000 : 2000)}\r\n`,
        () => `${nasty(r, 3)}: ${nasty(r, 6)}\r\n`,
        () => ` folded: continuation\r\n`,
        () => `Authorization: Bearer ${nasty(r, 8)}\r\n`,
        () => `Origin: ${pick(r, ['null', 'http://[', 'http://evil.example', nasty(r, 5), `http://127.0.0.1:${port}`])}\r\n`,
        () => `Connection: ${pick(r, ['Upgrade', 'keep-alive, close', nasty(r, 4)])}\r\n`,
        () => `Expect: 100-continue\r\n`,
      ];
      let hs = '';
      for (let k = 0, n = 1 + int(r, 4); k < n; k++) hs += pick(r, bad)();
      const method = pick(r, ['GET', 'POST']);
      const target = pick(r, ['/', '/api/info', '/api/jobs.list', '/events', '/index.html']) + q;
      const text = `${method} ${target} HTTP/1.1\r\n${host}${auth}${hs}\r\n${method === 'POST' ? '{}' : ''}`;
      return { kind, withToken, desc: JSON.stringify(text.slice(0, 160)), data: Buffer.from(text, 'latin1') };
    }
    case 'body': {
      const call = pick(r, SAFE_CALLS);
      const bodies = [
        () => bytes(r, int(r, 200)),
        () => Buffer.from(nasty(r, 20)),
        () => Buffer.from('{"limit": ' + pick(r, ['-1', '1e308', 'null', '"x"', '[]', '{}', '9007199254740993']) + '}'),
        () => Buffer.from('{"name": ' + JSON.stringify(pick(r, ['..', '.', '', '/', '../../x', 'a'.repeat(300), '\u0000', nasty(r, 6)])) + ', "dataBase64": ' + JSON.stringify(pick(r, ['', 'AAAA', '!!!!', 'QUJD'])) + '}'),
        () => Buffer.from('{"id": ' + JSON.stringify(pick(r, ['', 'x'.repeat(5000), '1', -1, null, { a: 1 }])) + '}'),
        () => Buffer.from('['.repeat(int(r, 5000)) + ']'.repeat(int(r, 10))),
        () => Buffer.from('{"__proto__": {"polluted": true}, "constructor": {"prototype": {"x": 1}}}'),
      ];
      const body = pick(r, bodies)();
      const mode = int(r, 4);
      let head = `POST /api/${call}${q} HTTP/1.1\r\n${host}${auth}`;
      let payload: Buffer;
      if (mode === 0) payload = body; // the declared length is right
      else if (mode === 1) {
        head += 'Transfer-Encoding: chunked\r\n';
        payload = Buffer.concat([Buffer.from(`${pick(r, [body.length.toString(16), 'zz', '-1', 'ffffffffffff', '0'])}\r\n`), body, Buffer.from('\r\n0\r\n\r\n')]);
      } else if (mode === 2) payload = body.subarray(0, Math.floor(body.length / 2)); // shorter than declared
      else payload = Buffer.concat([body, bytes(r, 20)]); // longer than declared (pipelined garbage)
      if (mode !== 1) head += `Content-Length: ${body.length}\r\n`;
      const data = Buffer.concat([Buffer.from(head + '\r\n'), payload]);
      return { kind, withToken, desc: `POST /api/${call} mode ${mode}: ${JSON.stringify(body.toString('latin1').slice(0, 80))}`, data };
    }
    case 'handshake': {
      const target = pick(r, ['/events', '/events', '/other', 'http://[', '/events%E0%A4%A', '/events?token=%ZZ', '*']) + q;
      const parts = [
        `GET ${target} HTTP/1.1\r\n`,
        host,
        auth,
        r() < 0.9 ? 'Connection: Upgrade\r\n' : `Connection: ${nasty(r, 3)}\r\n`,
        r() < 0.9 ? 'Upgrade: websocket\r\n' : `Upgrade: ${pick(r, ['h2c', 'WebSocket2', nasty(r, 3)])}\r\n`,
        r() < 0.7 ? 'Sec-WebSocket-Version: 13\r\n' : `Sec-WebSocket-Version: ${pick(r, ['8', '99', '', 'x', '13, 8'])}\r\n`,
        r() < 0.7 ? 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' : `Sec-WebSocket-Key: ${pick(r, ['', 'short', nasty(r, 10), 'x'.repeat(5000)])}\r\n`,
        r() < 0.3 ? `Sec-WebSocket-Extensions: ${pick(r, ['permessage-deflate; server_max_window_bits=99', 'permessage-deflate; client_max_window_bits', nasty(r, 6)])}\r\n` : '',
        r() < 0.2 ? `Origin: ${pick(r, ['null', 'http://evil.example', 'http://['])}\r\n` : '',
        '\r\n',
        r() < 0.3 ? bytes(r, int(r, 64)).toString('latin1') : '',
      ];
      const text = parts.join('');
      return { kind, withToken, desc: JSON.stringify(text.slice(0, 160)), data: Buffer.from(text, 'latin1') };
    }
    case 'frames': {
      // Written after a proper handshake with the token (withToken then says whether the frames
      // carry it in a text message: the socket does not read them as credentials either way).
      const frames: Buffer[] = [];
      const descs: string[] = [];
      for (let k = 0, n = 1 + int(r, 4); k < n; k++) {
        const variant = int(r, 8);
        const fin = r() < 0.8 ? 0x80 : 0;
        const rsv = r() < 0.15 ? pick(r, [0x40, 0x20, 0x10]) : 0;
        const opcode = variant === 0 ? pick(r, [3, 4, 5, 6, 7, 0xb, 0xc, 0xf]) : pick(r, [0, 1, 2, 8, 9, 10]);
        let payload: Buffer;
        if (variant === 1) payload = Buffer.from(withToken ? token : nasty(r, 10));
        else if (variant === 2) payload = Buffer.from([0xc3, 0x28, 0xa0, 0xa1]); // invalid UTF-8
        else if (variant === 3 && opcode === 8) payload = Buffer.from([int(r, 256), int(r, 256)]); // any close code
        else payload = bytes(r, int(r, 300));
        const masked = r() < 0.9;
        let len: Buffer;
        let declared = payload.length;
        if (variant === 4) declared = pick(r, [70_000, 2 ** 31, 2 ** 53 - 1]); // a length over the limit
        if (declared < 126 && variant !== 5) len = Buffer.from([(masked ? 0x80 : 0) | declared]);
        else if (declared < 65536 && variant !== 6) len = Buffer.from([(masked ? 0x80 : 0) | 126, declared >> 8, declared & 255]);
        else {
          len = Buffer.alloc(9);
          len[0] = (masked ? 0x80 : 0) | 127;
          len.writeBigUInt64BE(BigInt(variant === 7 ? 2n ** 63n + BigInt(declared) : BigInt(declared)), 1);
        }
        const mask = masked ? bytes(r, 4) : Buffer.alloc(0);
        const body = masked ? Buffer.from(payload.map((b, j) => b ^ mask[j % 4]!)) : payload;
        frames.push(Buffer.concat([Buffer.from([fin | rsv | opcode]), len, mask, body]));
        descs.push(`op ${opcode}${fin ? '' : ' nofin'}${rsv ? ' rsv' : ''}${masked ? '' : ' unmasked'} len ${declared}`);
      }
      return { kind, withToken, desc: descs.join('; '), data: Buffer.concat(frames) };
    }
  }
}

/** Opens /events with the token on a raw socket and writes `frames` once the 101 is in. */
function frameExchange(port: number, token: string, frames: Buffer, waitMs = 400): Promise<{ upgraded: boolean; text: string }> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let upgraded = false;
    const done = (): void => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ upgraded, text: buf.toString('latin1') });
    };
    const timer = setTimeout(done, 5000);
    sock.on('error', () => undefined);
    sock.on('close', done);
    sock.on('connect', () =>
      sock.write(`GET /events HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`),
    );
    sock.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (!upgraded && buf.includes('\r\n\r\n')) {
        upgraded = buf.toString('latin1').startsWith('HTTP/1.1 101');
        if (!upgraded) return done();
        sock.write(frames);
        clearTimeout(timer);
        setTimeout(done, waitMs);
      }
    });
  });
}

describe('socket fuzz of the web host', () => {
  it(`${CASES} seeded malformed request lines, headers, bodies, WebSocket handshakes and frames`, { timeout: Math.max(180_000, CASES * 1000) }, async () => {
    const r = mulberry32(SEED);
    const pid = srv.proc.pid!;
    expect(await infoStatus(srv.port, srv.token)).toBe(200);
    const rssStart = rssOf(pid);
    let rssMax = rssStart;
    const byKind = new Map<string, number>();
    const answers = new Map<string, number>();
    const t0 = performance.now();
    for (let i = 0; i < CASES; i++) {
      const c = makeCase(r, i, srv.port, srv.token);
      const label = `case ${i} (seed ${SEED}, ${c.kind}, ${c.withToken ? 'token' : 'no token'}): ${c.desc}`;
      let answer: string;
      if (c.kind === 'frames') {
        const x = await frameExchange(srv.port, srv.token, c.data);
        expect(x.upgraded, label).toBe(true);
        const close = /\x88.(..)/s.exec(x.text.slice(x.text.indexOf('\r\n\r\n') + 4));
        answer = close ? `close ${close[1]!.charCodeAt(0) * 256 + close[1]!.charCodeAt(1)}` : 'open';
      } else {
        // Half the cases close their side after writing (the parser sees the end), half leave it open.
        const x = await rawExchange(srv.port, c.data, 300, r() < 0.5);
        answer = /^HTTP\/1\.[01] (\d{3})/.exec(x.text)?.[1] ?? (x.closed ? 'closed' : 'no answer');
      }
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
      byKind.set(c.kind, (byKind.get(c.kind) ?? 0) + 1);
      const status = await infoStatus(srv.port, srv.token);
      if (status !== 200 || srv.proc.exitCode !== null) {
        record({ fault: `socket fuzz, seed ${SEED}`, outcome: `HOST DOWN after ${label}`, checked: `stderr: ${srv.stderr().slice(-500)}` });
      }
      expect(status, `${label}; host stderr: ${srv.stderr().slice(-500)}`).toBe(200);
      expect(srv.proc.exitCode, label).toBeNull();
      if (i % 25 === 0) rssMax = Math.max(rssMax, rssOf(pid));
    }
    const seconds = (performance.now() - t0) / 1000;
    const rssEnd = rssOf(pid);
    rssMax = Math.max(rssMax, rssEnd);
    const mb = (b: number): string => (b / 2 ** 20).toFixed(0);
    const summary = [...answers].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${k} ${n}`).join(', ');
    record({
      fault: `${CASES} seeded raw-socket cases (seed ${SEED}; ${[...byKind].map(([k, n]) => `${n} ${k}`).join(', ')}), half with the token`,
      outcome: `answers: ${summary}; the host answered /api/info with the token after every case`,
      checked: `${seconds.toFixed(1)} s; host RSS ${mb(rssStart)} MB at start, ${mb(rssMax)} MB at most, ${mb(rssEnd)} MB at the end (growth limit ${mb(RSS_GROWTH_LIMIT)} MB)`,
    });
    console.log(`socket fuzz: ${CASES} cases, seed ${SEED}, ${seconds.toFixed(1)} s, RSS ${mb(rssStart)} -> max ${mb(rssMax)} -> ${mb(rssEnd)} MB; ${summary}`);
    expect(rssMax - rssStart).toBeLessThan(RSS_GROWTH_LIMIT);
  });
});
