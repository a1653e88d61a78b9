/** Web host checks: token, Host and Origin (DNS rebinding), kept apart so tests can read them. */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'dinolab_token';

/** A random 32-byte token, hex. */
export function newToken(): string {
  return crypto.randomBytes(32).toString('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/** The token a request carries: Authorization bearer, the cookie, or ?token= (first page load only). */
export function tokenOf(req: IncomingMessage, url: URL): string | null {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7).trim();
  const cookie = req.headers.cookie ?? '';
  for (const part of cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === TOKEN_COOKIE) return v.join('=');
  }
  return url.searchParams.get('token');
}

export function tokenValid(req: IncomingMessage, url: URL, token: string): boolean {
  const t = tokenOf(req, url);
  return t !== null && safeEqual(t, token);
}

/** Host names this server answers to: loopback names plus the bind address. */
export function allowedHosts(bindHost: string, port: number): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.includes(':') ? `[${bindHost}]` : bindHost);
  const out = new Set<string>();
  for (const n of names) out.add(`${n}:${port}`);
  return out;
}

/** A Host header outside the allowed set is refused (a DNS-rebinding page sends its own name). */
export function hostAllowed(req: IncomingMessage, allowed: Set<string>): boolean {
  const host = req.headers.host;
  return !!host && allowed.has(host.toLowerCase());
}

/** Origin, when sent, must be this server itself. */
export function originAllowed(req: IncomingMessage, allowed: Set<string>): boolean {
  const origin = req.headers.origin;
  if (!origin) return true;
  try {
    const u = new URL(origin);
    return u.protocol === 'http:' && allowed.has(u.host.toLowerCase());
  } catch {
    return false;
  }
}
