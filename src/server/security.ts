/** Web host checks: token, Host and Origin (DNS rebinding), kept apart so tests can read them. */
import crypto from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import os from 'node:os';

/** A random 32-byte token, hex. */
export function newToken(): string {
  return crypto.randomBytes(32).toString('hex');
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}

/**
 * Every token a request carries: the Authorization bearer and ?token= (the start URL, the event
 * socket). No cookie: cookies ignore ports, so one would reach every other local service the browser
 * visits, and a page on another local port could plant a junk one.
 */
export function tokensOf(req: IncomingMessage, url: URL): string[] {
  const out: string[] = [];
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) out.push(auth.slice(7).trim());
  for (const t of url.searchParams.getAll('token')) out.push(t);
  return out;
}

/** A request is admitted when any token it carries is the server's. */
export function tokenValid(req: IncomingMessage, url: URL, token: string): boolean {
  return tokensOf(req, url).some((t) => safeEqual(t, token));
}

/** Whether an address or host name is loopback (127.0.0.0/8, ::1, localhost). */
export function isLoopback(host: string | undefined): boolean {
  if (!host) return false;
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h) || /^::ffff:127\.\d+\.\d+\.\d+$/.test(h);
}

/** This machine's own names: its host name and the addresses of its interfaces. */
export function ownNames(): string[] {
  const names = new Set<string>();
  const hn = os.hostname().toLowerCase();
  if (hn) names.add(hn);
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) names.add(a.family === 'IPv6' ? `[${a.address.split('%')[0]!.toLowerCase()}]` : a.address);
  }
  return [...names];
}

/**
 * Host names this server answers to: loopback names plus the bind address; with `remote` (a
 * non-loopback bind allowed by --allow-remote) also this machine's own names and addresses.
 */
export function allowedHosts(bindHost: string, port: number, remote = false): Set<string> {
  const names = new Set(['127.0.0.1', 'localhost', '[::1]']);
  if (bindHost !== '0.0.0.0' && bindHost !== '::') names.add(bindHost.includes(':') ? `[${bindHost.toLowerCase()}]` : bindHost.toLowerCase());
  if (remote) for (const n of ownNames()) names.add(n);
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
