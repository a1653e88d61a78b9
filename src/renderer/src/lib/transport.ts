/**
 * Picks the transport to the engine: Electron's preload bridge (`window.lab`) when present, else the
 * web host (HTTP for calls, a WebSocket for events, authenticated by the token from the start URL).
 */
import type { CallReply, LabEvent, MethodName } from '../../../shared/contract';
import { createLabClient, type LabClient, type LabTransport } from '../../../shared/client';

interface PreloadBridge {
  invoke(name: string, input: unknown): Promise<CallReply<unknown>>;
  subscribe(handler: (event: LabEvent) => void): () => void;
}

const TOKEN_KEY = 'dinolab.token';

function takeToken(): string | null {
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.pathname + url.search + url.hash);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function webTransport(): LabTransport {
  const token = takeToken();
  return {
    async invoke(name: MethodName, input: unknown) {
      try {
        const res = await fetch(`/api/${name}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(input ?? {}),
        });
        return (await res.json()) as CallReply<unknown>;
      } catch (err) {
        return { ok: false, error: { code: 'offline', message: `Cannot reach DINO Lab's engine: ${(err as Error).message}` } };
      }
    },
    subscribe(handler) {
      let ws: WebSocket | null = null;
      let stopped = false;
      const connect = (): void => {
        const proto = location.protocol === 'https:' ? 'wss' : 'ws';
        ws = new WebSocket(`${proto}://${location.host}/events${token ? `?token=${encodeURIComponent(token)}` : ''}`);
        ws.onmessage = (m) => handler(JSON.parse(String(m.data)) as LabEvent);
        ws.onclose = () => {
          if (!stopped) setTimeout(connect, 1000);
        };
      };
      connect();
      return () => {
        stopped = true;
        ws?.close();
      };
    },
  };
}

export function createClient(): LabClient {
  const bridge = (window as unknown as { lab?: PreloadBridge }).lab;
  if (bridge) return createLabClient({ invoke: (n, i) => bridge.invoke(n, i), subscribe: (h) => bridge.subscribe(h) });
  return createLabClient(webTransport());
}

/** The one client of this window; only stores use it. */
export const client = createClient();
