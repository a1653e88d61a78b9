import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import type { Info } from '../shared/contract';
import type { Db } from './db/database';
import pkg from '../../package.json';

let gpuCache: string | null | undefined;
/** The NVIDIA GPU's name where a driver is present (nvidia-smi, else /proc), else null. */
export function gpuName(): string | null {
  if (gpuCache !== undefined) return gpuCache;
  gpuCache = null;
  try {
    const out = execFileSync('nvidia-smi', ['--query-gpu=name', '--format=csv,noheader'], { timeout: 3000, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
    if (out) gpuCache = out.split('\n')[0]!.trim();
  } catch {
    try {
      const dir = '/proc/driver/nvidia/gpus';
      for (const g of fs.readdirSync(dir)) {
        const txt = fs.readFileSync(`${dir}/${g}/information`, 'utf8');
        const m = /Model:\s*(.+)/.exec(txt);
        if (m) {
          gpuCache = m[1]!.trim();
          break;
        }
      }
    } catch {
      /* no NVIDIA driver */
    }
  }
  return gpuCache;
}

/** onnxruntime-node's execution providers that are actually present in this install. */
export async function executionProviders(): Promise<string[]> {
  try {
    const ort = await import('onnxruntime-node');
    const list = (ort as unknown as { listSupportedBackends?: () => { name: string; bundled: boolean }[] }).listSupportedBackends?.() ?? [];
    const present = list.filter((b) => b.bundled || cudaInstalled(b.name)).map((b) => b.name);
    return present.length ? present : ['cpu'];
  } catch {
    return [];
  }
}

function cudaInstalled(name: string): boolean {
  if (name !== 'cuda' && name !== 'tensorrt') return false;
  try {
    const dir = new URL('../../node_modules/onnxruntime-node/bin/napi-v6/linux/x64/', import.meta.url);
    return fs.readdirSync(dir).some((f) => f.includes('providers_cuda'));
  } catch {
    return false;
  }
}

let tfCache: string | null | undefined;
/** The TensorFlow.js backend training uses here (loads TensorFlow.js once). */
export async function tfBackend(): Promise<string | null> {
  if (tfCache !== undefined) return tfCache;
  try {
    const mod = (await import('./classifiers/tf-backend')) as { initTf: () => Promise<{ backend: string }> };
    tfCache = (await mod.initTf()).backend;
  } catch {
    tfCache = null;
  }
  return tfCache;
}

export async function collectInfo(db: Db, o: { dbPath: string; dataDir: string; host: Info['host'] }): Promise<Info> {
  const sqliteVersion = (db.prepare('SELECT sqlite_version() AS v').get() as { v: string }).v;
  return {
    appVersion: pkg.version,
    nodeVersion: process.versions.node,
    electronVersion: process.versions.electron ?? null,
    host: o.host,
    sqliteVersion,
    dbPath: o.dbPath,
    dataDir: o.dataDir,
    executionProviders: await executionProviders(),
    tfBackend: await tfBackend(),
    gpuName: gpuName(),
    platform: `${process.platform}-${process.arch}`,
  };
}
