/**
 * The web host: the Lab contract over HTTP (POST /api/<call>, JSON) and a WebSocket (/events) for
 * events, plus the built renderer as static files. Bound to 127.0.0.1 unless told otherwise (another
 * address needs allowRemote); every call and the event socket need the token; Host and Origin are
 * checked. Every request is parsed inside a guard: a malformed one is answered 400, a handler that
 * throws 500, and neither stops the host.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { labApi, type CallReply } from '../shared/contract';
import { LabError } from '../core/errors';
import type { Lab } from '../core/lab';
import { allowedHosts, hostAllowed, isLoopback, newToken, originAllowed, tokenValid } from './security';

export interface ServeOptions {
  lab: Lab;
  host?: string;
  port?: number;
  token?: string;
  /** The built renderer (index.html + assets). */
  staticDir?: string;
  /** Largest request body accepted, in bytes (image uploads go through the API as base64). */
  maxBodyBytes?: number;
  /** Needed to bind anything but a loopback address: the token then crosses the network in clear. */
  allowRemote?: boolean;
  /** Where the host reports what it survived (a handler that threw, a socket error); stderr by default. */
  log?: (line: string) => void;
}

export interface RunningServer {
  url: string;
  host: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; connect-src 'self' ws: http://127.0.0.1:* http://localhost:*; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'";

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function refuse(res: ServerResponse, status: number, code: string, message: string): void {
  json(res, status, { ok: false, error: { code, message } } satisfies CallReply<never>);
}

function readBody(req: IncomingMessage, max: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        // Stop buffering but let the reply go out before the connection closes.
        req.removeAllListeners('data');
        req.resume();
        reject(Object.assign(new Error('too large'), { code: 'TOO_LARGE' }));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** The request target as a URL, or null when it is not one (`GET http://[ HTTP/1.1`). */
function parseTarget(req: IncomingMessage): URL | null {
  try {
    return new URL(req.url ?? '/', 'http://placeholder');
  } catch {
    return null;
  }
}

/** decodeURIComponent that answers null on a bad escape (`%E0%A4%A`) instead of throwing. */
function decodePath(p: string): string | null {
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

/**
 * Makes the host process survive what it does not handle: a promise rejection nobody awaited is
 * logged, not fatal. `dinolab serve` installs it; returns the uninstaller.
 */
export function installHostGuards(log: (line: string) => void = (l) => console.error(l)): () => void {
  const onRejection = (reason: unknown): void => log(`dinolab serve: unhandled rejection (the host keeps running): ${describeError(reason)}`);
  process.on('unhandledRejection', onRejection);
  return () => process.off('unhandledRejection', onRejection);
}

export function defaultStaticDir(): string | undefined {
  const candidates = [
    process.env.DINOLAB_RENDERER_DIR,
    path.resolve(path.dirname(new URL(import.meta.url).pathname), '../renderer'),
    path.resolve(process.cwd(), 'out/renderer'),
  ];
  return candidates.find((c) => c && fs.existsSync(path.join(c, 'index.html')));
}

export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const host = o.host ?? '127.0.0.1';
  const remote = !isLoopback(host);
  if (remote && !o.allowRemote) {
    throw new LabError(
      'invalid_input',
      `Refusing to listen on ${host}: it is not a loopback address, and the token and your data would cross the network in clear. Pass --allow-remote to do it anyway.`,
    );
  }
  const token = o.token ?? newToken();
  const staticDir = o.staticDir ?? defaultStaticDir();
  const maxBody = o.maxBodyBytes ?? 64 * 1024 * 1024;
  const log = o.log ?? ((l: string) => console.error(l));
  let allowed = new Set<string>();

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = parseTarget(req);
    if (!url) return refuse(res, 400, 'invalid_input', 'The request target is not a valid URL.');
    if (!hostAllowed(req, allowed)) return refuse(res, 403, 'forbidden_host', 'Host not allowed.');
    if (!originAllowed(req, allowed)) return refuse(res, 403, 'forbidden_origin', 'Origin not allowed.');
    if (url.pathname.startsWith('/api/')) {
      if (!tokenValid(req, url, token)) {
        return refuse(res, 401, 'unauthorized', 'A valid token is required: open the URL DINO Lab printed when it started.');
      }
      if (req.method !== 'POST') return refuse(res, 405, 'method_not_allowed', 'Use POST.');
      const name = decodePath(url.pathname.slice(5));
      if (name === null) return refuse(res, 400, 'invalid_input', 'The call name has a bad percent-escape.');
      if (!Object.hasOwn(labApi, name)) return refuse(res, 404, 'not_found', `Unknown call "${name}".`);
      let body: unknown;
      if (Number(req.headers['content-length'] ?? 0) > maxBody) {
        res.setHeader('connection', 'close');
        return refuse(res, 413, 'too_large', `Request larger than ${Math.round(maxBody / 1048576)} MB.`);
      }
      try {
        const text = await readBody(req, maxBody);
        body = text ? (JSON.parse(text) as unknown) : {};
      } catch (err) {
        if ((err as { code?: string }).code === 'TOO_LARGE') {
          res.setHeader('connection', 'close');
          return refuse(res, 413, 'too_large', `Request larger than ${Math.round(maxBody / 1048576)} MB.`);
        }
        return refuse(res, 400, 'invalid_input', 'The request body is not valid JSON.');
      }
      const reply = await o.lab.dispatch(name, body, { remote: !isLoopback(req.socket.remoteAddress) });
      return json(res, reply.ok ? 200 : 400, reply);
    }
    // The built renderer is public code without data; it needs no token (the page keeps the token in
    // sessionStorage and sends it with every call and on the event socket).
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method_not_allowed', 'Method not allowed.');
    return serveStatic(res, staticDir, url);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`dinolab serve: ${req.method} ${String(req.url).slice(0, 200)} failed: ${describeError(err)}`);
      if (!res.headersSent) refuse(res, 500, 'internal', 'The host failed on this request; the error is in its log.');
      else res.destroy();
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    // A reset from the client must not become an uncaught 'error'.
    socket.on('error', () => undefined);
    const deny = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      setTimeout(() => socket.destroy(), 2000).unref();
    };
    try {
      const url = parseTarget(req);
      if (!url) return deny(400, 'Bad Request');
      if (url.pathname !== '/events') return deny(404, 'Not Found');
      if (!hostAllowed(req, allowed) || !originAllowed(req, allowed)) return deny(403, 'Forbidden');
      if (!tokenValid(req, url, token)) return deny(401, 'Unauthorized');
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        // Oversized or malformed frames: ws closes the socket (1009 / 1002) after this event.
        ws.on('error', (err) => log(`dinolab serve: event socket closed: ${err.message}`));
        ws.on('close', () => sockets.delete(ws));
      });
    } catch (err) {
      log(`dinolab serve: upgrade failed: ${describeError(err)}`);
      deny(400, 'Bad Request');
    }
  });
  const unsubscribe = o.lab.subscribe((ev) => {
    const data = JSON.stringify(ev);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  // Errors after start (EMFILE on accept, ...) are logged, never fatal.
  server.on('error', (err) => log(`dinolab serve: ${describeError(err)}`));
  const port = (server.address() as { port: number }).port;
  allowed = allowedHosts(host, port, remote);
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${port}/?token=${token}`,
    host,
    port,
    token,
    async close() {
      unsubscribe();
      for (const ws of sockets) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

function serveStatic(res: ServerResponse, dir: string | undefined, url: URL): void {
  if (!dir) return refuse(res, 404, 'not_built', 'The renderer is not built: run npm run build.');
  let rel = decodePath(url.pathname);
  if (rel === null) return refuse(res, 400, 'invalid_input', 'The path has a bad percent-escape.');
  if (rel.includes('\0')) return refuse(res, 404, 'not_found', 'Not found.');
  if (rel === '/' || rel === '') rel = '/index.html';
  const file = path.resolve(dir, '.' + path.posix.normalize(rel));
  // Only files inside the built renderer; no directory listings.
  if (!file.startsWith(path.resolve(dir) + path.sep)) return refuse(res, 404, 'not_found', 'Not found.');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    return refuse(res, 404, 'not_found', 'Not found.');
  }
  if (!stat.isFile()) return refuse(res, 404, 'not_found', 'Not found.');
  const headers: Record<string, string> = {
    'content-type': MIME[path.extname(file)] ?? 'application/octet-stream',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-cache',
  };
  if (file.endsWith('.html')) {
    headers['content-security-policy'] = CSP;
    headers['referrer-policy'] = 'no-referrer';
    headers['x-frame-options'] = 'DENY';
  }
  res.writeHead(200, headers);
  fs.createReadStream(file).pipe(res);
}
