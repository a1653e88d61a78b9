#!/usr/bin/env bash
# Packs the embedding benchmark for a GPU machine without Node or network (see ../shared/device/README.md):
# bench/embed.ts bundled into out/bench/embed.mjs and its inference worker into out/bench/inference-worker.js
# (onnxruntime-node, better-sqlite3 and sharp stay external), then ../shared/device/prepare.sh packs Node,
# onnxruntime-node, the Vulkan loader and the native modules the end-to-end part needs into .device/
# (git-ignored). Then, on the device, from the project root, carrying .device:
#   source .device/gpu-env.sh; python3 .device/export_vits14.py /tmp/vits14.onnx; \
#   python3 .device/export_vits14.py /tmp/vits14-fp16.onnx --fp16; \
#   for m in vits14 vits14-fp16; do node out/bench/embed.mjs --model /tmp/$m.onnx --ep webgpu \
#     --batches 16,32,64,128,256 --images 4096 | tee $OUT/$m.txt; done   (table, then one JSON line)
# export_vits14.py prints PyTorch's fp32 / fp16 throughput on that GPU (the reference); embed.mjs prints raw
# onnxruntime WebGPU images/s per batch, the end-to-end job with resizing inside the graph (uint8 pixels
# in) and in JS, and the job's ceiling with an almost free model.
set -euo pipefail
cd "$(dirname "$0")/.."
npx esbuild bench/embed.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --external:better-sqlite3 --external:sharp \
  --banner:js="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" \
  --outfile=out/bench/embed.mjs --log-level=warning
# The inference worker thread is its own entry (src/core/entry.ts finds <base>.js next to the bundle).
npx esbuild src/core/embeddings/inference-worker.ts --bundle --platform=node --format=esm --target=node20 \
  --external:onnxruntime-node --outfile=out/bench/inference-worker.js --log-level=warning
../shared/device/prepare.sh out/bench \
  node_modules/better-sqlite3/package.json node_modules/better-sqlite3/lib \
  node_modules/better-sqlite3/build/Release/better_sqlite3.node \
  node_modules/bindings node_modules/file-uri-to-path \
  node_modules/sharp node_modules/@img node_modules/detect-libc node_modules/semver
