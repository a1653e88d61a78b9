/**
 * The preload: exposes `window.lab` (invoke one contract call, subscribe to events) and nothing else.
 * The whitelist of calls is the contract's method list.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { IPC_EVENT_CHANNEL, ipcChannel, methodNames, type MethodName } from '../shared/contract';

const allowed = new Set<string>(methodNames);

const api = {
  invoke(name: string, input: unknown): Promise<unknown> {
    if (!allowed.has(name)) return Promise.resolve({ ok: false, error: { code: 'not_found', message: `Unknown call "${name}".` } });
    // A call the main process could not route (e.g. it is shutting down) rejects: answer it as a failed
    // call with its reason, like every other error the renderer shows.
    return ipcRenderer.invoke(ipcChannel(name as MethodName), input).catch((err: unknown) => ({
      ok: false,
      error: { code: 'offline', message: `Cannot reach DINO Lab's engine: ${err instanceof Error ? err.message : String(err)}` },
    }));
  },
  subscribe(handler: (event: unknown) => void): () => void {
    const listener = (_e: IpcRendererEvent, ev: unknown): void => handler(ev);
    ipcRenderer.on(IPC_EVENT_CHANNEL, listener);
    return () => ipcRenderer.removeListener(IPC_EVENT_CHANNEL, listener);
  },
};

contextBridge.exposeInMainWorld('lab', api);
