/**
 * Finds a separate entry point (a child process or worker thread script) next to the calling module:
 * the .ts source run through tsx in tests and development, or the bundled .js that electron-vite
 * writes to out/main (each such entry is listed in electron.vite.config.ts).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

export function resolveEntry(callerUrl: string, base: string): { file: string; execArgv: string[] } {
  const here = fileURLToPath(callerUrl);
  if (here.endsWith('.ts')) return { file: path.join(path.dirname(here), `${base}.ts`), execArgv: ['--import', 'tsx'] };
  let dir = path.dirname(here);
  for (let i = 0; i < 4; i++) {
    const candidate = path.join(dir, `${base}.js`);
    if (fs.existsSync(candidate)) return { file: candidate, execArgv: [] };
    dir = path.dirname(dir);
  }
  throw new Error(`${base}.js not found near ${here}: run npm run build`);
}

/**
 * Starts a worker thread on an entry found by resolveEntry. Worker threads ignore `--import`, so the
 * TypeScript source is started through a two-line bootstrap that registers tsx first.
 */
export function startWorker(callerUrl: string, base: string, options: WorkerOptions = {}): Worker {
  const entry = resolveEntry(callerUrl, base);
  if (!entry.execArgv.length) return new Worker(entry.file, options);
  const url = JSON.stringify(pathToFileURL(entry.file).href);
  return new Worker(`import('tsx/esm/api').then((m) => { m.register(); return import(${url}); });`, { ...options, eval: true });
}
