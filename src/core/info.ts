import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Info } from '../shared/contract';
import { sqliteVersion, type Db } from './db/database';
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

/**
 * False on Linux when neither an NVIDIA driver nor a DRM render node (/dev/dri/renderD*) is present: a
 * Vulkan loader there still offers Mesa's software rasteriser (lavapipe), on which WebGPU ran the fixture
 * ViT-S/14 at 0.5 images/s against 30 on onnxruntime's CPU provider (measured here). Elsewhere true.
 */
export function hasGpuDevice(): boolean {
  if (process.platform !== 'linux') return true;
  if (gpuName()) return true;
  try {
    return fs.readdirSync('/dev/dri').some((f) => f.startsWith('renderD'));
  } catch {
    return false;
  }
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
    // Resolved through the package, not a path relative to this file: in the bundle it sits in out/main.
    const pkg = createRequire(import.meta.url).resolve('onnxruntime-node/package.json');
    const dir = path.join(path.dirname(pkg), 'bin', 'napi-v6', process.platform, process.arch);
    return fs.readdirSync(dir).some((f) => f.includes('providers_cuda'));
  } catch {
    return false;
  }
}

let tfCache: string | null | undefined;
// wasm-feature-detect's SIMD probe: a module using v128 instructions validates only where SIMD exists.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

/**
 * The TensorFlow.js backend training will use, found without loading TensorFlow.js into the host
 * (that takes ~0.6 s of its event loop): tfjs-node where its native addon is installed, else the
 * WebAssembly backend (with SIMD where supported), else cpu. Each run records the backend it actually used.
 */
export async function tfBackend(): Promise<string | null> {
  if (tfCache !== undefined) return tfCache;
  const req = createRequire(import.meta.url);
  try {
    const dir = path.dirname(req.resolve('@tensorflow/tfjs-node/package.json'));
    const lib = path.join(dir, 'lib');
    if (fs.readdirSync(lib).some((d) => d.startsWith('napi-v') && fs.existsSync(path.join(lib, d, 'tfjs_binding.node')))) return (tfCache = 'tensorflow');
  } catch {
    /* not installed */
  }
  try {
    req.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm');
    return (tfCache = (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(SIMD_PROBE) ? 'wasm-simd' : 'wasm');
  } catch {
    return (tfCache = 'cpu');
  }
}

export async function collectInfo(db: Db, o: { dbPath: string; dataDir: string; host: Info['host'] }): Promise<Info> {
  return {
    appVersion: pkg.version,
    nodeVersion: process.versions.node,
    electronVersion: process.versions.electron ?? null,
    host: o.host,
    sqliteVersion: sqliteVersion(db),
    dbPath: o.dbPath,
    dataDir: o.dataDir,
    executionProviders: await executionProviders(),
    tfBackend: await tfBackend(),
    gpuName: gpuName(),
    platform: `${process.platform}-${process.arch}`,
  };
}
