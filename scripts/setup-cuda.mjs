#!/usr/bin/env node
// `npm run setup:cuda`: fetch onnxruntime-node's CUDA 12 execution provider (needs internet, an NVIDIA
// driver, CUDA 12 and cuDNN 9). Without it DINO Lab uses WebGPU (through Vulkan) or the CPU.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const script = path.join(root, 'node_modules', 'onnxruntime-node', 'script', 'install.js');
const r = spawnSync(process.execPath, [script, '--onnxruntime-node-install=cuda12'], {
  cwd: path.join(root, 'node_modules', 'onnxruntime-node'),
  stdio: 'inherit',
  env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'cuda12', npm_config_onnxruntime_node_install: 'cuda12' },
});
if (r.status !== 0) {
  console.error('The CUDA provider could not be installed (it downloads from NuGet). DINO Lab keeps using WebGPU or the CPU.');
  process.exit(1);
}
console.log('CUDA provider installed: choose "auto" or "cuda" on the Embeddings page.');
