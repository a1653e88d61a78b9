import { resolve } from 'node:path';
import { defineConfig } from 'electron-vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// One build for every host: Electron main + the engine (utility process), the job runner, the CLI and
// the web host share out/main; the preload is a self-contained CommonJS bundle (sandboxed preloads
// cannot load modules); the renderer is plain web code.
export default defineConfig({
  main: {
    build: {
      // Optional and dev-only packages used at run time must stay external too (native addons, tsx).
      externalizeDeps: { include: ['@tensorflow/tfjs-node', 'tsx', 'electron'] },
      rolldownOptions: {
        input: {
          index: resolve(__dirname, 'src/main/index.ts'),
          engine: resolve(__dirname, 'src/main/engine.ts'),
          'job-process': resolve(__dirname, 'src/core/job-process.ts'),
          'inspect-process': resolve(__dirname, 'src/core/backbones/inspect-process.ts'),
          'svc-solver-thread': resolve(__dirname, 'src/core/classifiers/svc/svc-solver-thread.ts'),
          'kernel-block-worker': resolve(__dirname, 'src/core/classifiers/svc/kernel-block-worker.ts'),
          'inference-worker': resolve(__dirname, 'src/core/embeddings/inference-worker.ts'),
          cli: resolve(__dirname, 'src/cli/index.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: resolve(__dirname, 'src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve(__dirname, 'src/renderer'),
    build: {
      rolldownOptions: { input: { index: resolve(__dirname, 'src/renderer/index.html') } },
    },
    plugins: [svelte({ configFile: resolve(__dirname, 'svelte.config.js') })],
  },
});
