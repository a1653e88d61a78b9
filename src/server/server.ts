/**
 * The web host: the Lab contract over HTTP (POST /api/<call>, JSON) and a WebSocket (/events) for
 * events, plus the built renderer as static files. Bound to 127.0.0.1 unless told otherwise; every
 * request and socket needs the token; Host and Origin are checked.
 */
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { labApi, type CallReply } from '../shared/contract';
import type { Lab } from '../core/lab';
import { allowedHosts, hostAllowed, newToken, originAllowed, TOKEN_COOKIE, tokenValid } from './security';

export interface ServeOptions {
  lab: Lab;
  host?: string;
  port?: number;
  token?: string;
  /** The built renderer (index.html + assets). */
  staticDir?: string;
  /** Largest request body accepted, in bytes (image uploads go through the API as base64). */
  maxBodyBytes?: number;
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
  const token = o.token ?? newToken();
  const staticDir = o.staticDir ?? defaultStaticDir();
  const maxBody = o.maxBodyBytes ?? 64 * 1024 * 1024;
  let allowed = new Set<string>();

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (!hostAllowed(req, allowed)) return refuse(res, 403, 'forbidden_host', 'Host not allowed.');
    if (!originAllowed(req, allowed)) return refuse(res, 403, 'forbidden_origin', 'Origin not allowed.');
    if (!tokenValid(req, url, token)) {
      return refuse(res, 401, 'unauthorized', 'A valid token is required: open the URL DINO Lab printed when it started.');
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return refuse(res, 405, 'method_not_allowed', 'Use POST.');
      const name = decodeURIComponent(url.pathname.slice(5));
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
      const reply = await o.lab.dispatch(name, body);
      return json(res, reply.ok ? 200 : 400, reply);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'method_not_allowed', 'Method not allowed.');
    return serveStatic(res, staticDir, url, url.searchParams.has('token') ? token : null);
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    const deny = (status: number, text: string): void => {
      socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      socket.destroy();
    };
    if (url.pathname !== '/events') return deny(404, 'Not Found');
    if (!hostAllowed(req, allowed) || !originAllowed(req, allowed)) return deny(403, 'Forbidden');
    if (!tokenValid(req, url, token)) return deny(401, 'Unauthorized');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
    });
  });
  const unsubscribe = o.lab.subscribe((ev) => {
    const data = JSON.stringify(ev);
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(data);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  allowed = allowedHosts(host, port);
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

function serveStatic(res: ServerResponse, dir: string | undefined, url: URL, setCookieToken: string | null): void {
  if (!dir) return refuse(res, 404, 'not_built', 'The renderer is not built: run npm run build.');
  let rel = decodeURIComponent(url.pathname);
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
  if (setCookieToken) headers['set-cookie'] = `${TOKEN_COOKIE}=${setCookieToken}; HttpOnly; SameSite=Strict; Path=/`;
  res.writeHead(200, headers);
  fs.createReadStream(file).pipe(res);
}
