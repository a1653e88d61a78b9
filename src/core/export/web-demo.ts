/**
 * The web demo folder of `dinolab export-model --web DIR`: index.html, the exported model, and
 * onnxruntime-web's files copied from the npm package (no CDN), so that any static file server serves a
 * page that classifies dropped or chosen images entirely in the browser (WebGPU where the browser has
 * it, else WebAssembly) and shows the top 3 classes.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { LabError } from '../errors';
import { NORMALIZE } from '../images/preprocess';
import type { ExportModelResult } from './model-export';

/** The model's file name inside the demo folder. */
export const WEB_MODEL_FILE = 'model.onnx';

/** onnxruntime-web's WebGPU bundle (it carries the wasm execution provider too) and the wasm it loads. */
const ORT_FILES = ['ort.webgpu.min.mjs', 'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm'];

function ortDist(): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve('onnxruntime-web');
  } catch {
    throw new LabError('not_found', 'onnxruntime-web is not installed (npm run setup installs it): the web demo needs its files.');
  }
  // The package's main entry lies in dist/.
  let dir = path.dirname(entry);
  while (!fs.existsSync(path.join(dir, ORT_FILES[0]!)) && path.dirname(dir) !== dir) {
    const dist = path.join(dir, 'dist');
    if (fs.existsSync(path.join(dist, ORT_FILES[0]!))) return dist;
    dir = path.dirname(dir);
  }
  return dir;
}

/** Writes the demo folder around an exported full model; returns what it wrote. */
export function writeWebDemo(dir: string, model: ExportModelResult): { dir: string; index: string; files: string[] } {
  if (model.input.name === 'embedding') throw new LabError('invalid_input', 'The web demo takes images: export the full model, not --head-only.');
  fs.mkdirSync(path.join(dir, 'ort'), { recursive: true });
  const files: string[] = [];
  const target = path.join(dir, WEB_MODEL_FILE);
  if (path.resolve(model.file) !== path.resolve(target)) fs.copyFileSync(model.file, target);
  files.push(target);
  for (const extra of model.extraFiles) {
    const to = path.join(dir, path.basename(extra));
    if (path.resolve(extra) !== path.resolve(to)) fs.copyFileSync(extra, to);
    files.push(to);
  }
  const dist = ortDist();
  for (const f of ORT_FILES) {
    const from = path.join(dist, f);
    if (!fs.existsSync(from)) throw new LabError('not_found', `onnxruntime-web's ${f} is missing from ${dist}: reinstall the package.`);
    fs.copyFileSync(from, path.join(dir, 'ort', f));
    files.push(path.join(dir, 'ort', f));
  }
  const config = {
    model: WEB_MODEL_FILE,
    input: model.input,
    outputs: model.outputs,
    classes: model.classes,
    kind: model.kind,
    mean: NORMALIZE.mean,
    std: NORMALIZE.std,
  };
  const index = path.join(dir, 'index.html');
  fs.writeFileSync(index, demoHtml(config));
  files.push(index);
  return { dir, index, files };
}

function demoHtml(config: object): string {
  // The config is JSON inside a <script type="application/json">: '<' is escaped so no string can close it.
  const json = JSON.stringify(config).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>DINO Lab model</title>
<style>
  body { font: 15px system-ui, sans-serif; margin: 0; background: #f6f7f9; color: #1d2330; }
  main { max-width: 860px; margin: 0 auto; padding: 24px; }
  h1 { font-size: 20px; margin: 0 0 4px; }
  #status { color: #5a6273; margin-bottom: 16px; }
  #drop { display: block; border: 2px dashed #9aa3b5; border-radius: 10px; padding: 32px; text-align: center; background: #fff; cursor: pointer; }
  #drop.over { border-color: #3763d8; background: #eef3ff; }
  ul { list-style: none; padding: 0; }
  li.result { display: flex; gap: 16px; align-items: center; background: #fff; border-radius: 8px; padding: 12px; margin: 10px 0; }
  li.result img { width: 96px; height: 96px; object-fit: contain; image-rendering: pixelated; background: #eee; }
  .bar { height: 8px; background: #3763d8; border-radius: 4px; }
  .row { display: grid; grid-template-columns: minmax(80px, 180px) minmax(80px, 240px) 60px; gap: 8px; align-items: center; margin-top: 4px; }
  .row > div { background: #e6e9f0; border-radius: 4px; }
  .error { color: #b3261e; }
</style>
</head>
<body>
<main>
  <h1>DINO Lab model</h1>
  <div id="status">Loading the model…</div>
  <label id="drop">Drop images here or click to choose<input id="file" type="file" accept="image/*" multiple hidden></label>
  <ul id="results"></ul>
</main>
<script type="application/json" id="config">${json}</script>
<script type="module">
// onnxruntime-web from the folder beside this page (imported by URL, so no bundler or CDN is involved).
const ort = await import(new URL('./ort/${ORT_FILES[0]}', location.href).href);
const config = JSON.parse(document.getElementById('config').textContent);
const status = document.getElementById('status');
ort.env.wasm.wasmPaths = new URL('./ort/', location.href).href;
let session = null;
let provider = '';
async function open() {
  const order = navigator.gpu ? ['webgpu', 'wasm'] : ['wasm'];
  let last = null;
  for (const ep of order) {
    try {
      session = await ort.InferenceSession.create(config.model, { executionProviders: [ep] });
      provider = ep;
      break;
    } catch (err) { last = err; }
  }
  if (!session) throw last;
  const what = config.input.name === 'image' ? 'images of ' + config.input.shape[2] + 'x' + config.input.shape[1] + ' (others are resized to it)' : 'any image (preprocessed here)';
  status.textContent = 'Ready (' + provider + '): ' + config.kind + ' on ' + config.classes.length + ' classes; takes ' + what + '.';
  status.dataset.ready = provider;
}
function canvasOf(w, h) {
  const c = document.createElement('canvas');
  c.width = w; c.height = h;
  return c.getContext('2d', { willReadFrequently: true });
}
function rgbOf(ctx, w, h) {
  const d = ctx.getImageData(0, 0, w, h).data;
  const out = new Uint8Array(w * h * 3);
  for (let i = 0, j = 0; i < d.length; i += 4) { out[j++] = d[i]; out[j++] = d[i + 1]; out[j++] = d[i + 2]; }
  return out;
}
async function tensorOf(file) {
  const bmp = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  if (config.input.name === 'image') {
    const H = config.input.shape[1], W = config.input.shape[2];
    const ctx = canvasOf(W, H);
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, W, H);
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bmp, 0, 0, W, H);
    return new ort.Tensor('uint8', rgbOf(ctx, W, H), [1, H, W, 3]);
  }
  // pixel_values: the preset's resize and crop with the canvas, then ImageNet normalisation, CHW.
  const S = config.input.shape[2];
  const short = Math.round(S * 256 / 224);
  const scale = short / Math.min(bmp.width, bmp.height);
  const w = Math.trunc(bmp.width * scale), h = Math.trunc(bmp.height * scale);
  const ctx = canvasOf(S, S);
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(bmp, -Math.round((w - S) / 2), -Math.round((h - S) / 2), w, h);
  const rgb = rgbOf(ctx, S, S);
  const out = new Float32Array(3 * S * S);
  for (let c = 0; c < 3; c++) for (let i = 0; i < S * S; i++) out[c * S * S + i] = (rgb[i * 3 + c] / 255 - config.mean[c]) / config.std[c];
  return new ort.Tensor('float32', out, [1, 3, S, S]);
}
async function classify(file) {
  const li = document.createElement('li');
  li.className = 'result';
  li.dataset.name = file.name;
  const img = document.createElement('img');
  img.src = URL.createObjectURL(file);
  li.append(img);
  const box = document.createElement('div');
  li.append(box);
  document.getElementById('results').prepend(li);
  try {
    const x = await tensorOf(file);
    const out = await session.run({ [config.input.name]: x });
    const label = Number(out.label.data[0]);
    li.dataset.top1 = config.classes[label];
    const title = document.createElement('strong');
    title.textContent = file.name + ': ' + config.classes[label];
    box.append(title);
    if (out.probabilities) {
      const p = Array.from(out.probabilities.data);
      const top = p.map((v, i) => [v, i]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      for (const [v, i] of top) {
        const row = document.createElement('div');
        row.className = 'row';
        row.innerHTML = '<span></span><div><div class="bar"></div></div><span></span>';
        row.children[0].textContent = config.classes[i];
        row.querySelector('.bar').style.width = Math.max(1, v * 100).toFixed(1) + '%';
        row.children[2].textContent = (v * 100).toFixed(1) + '%';
        box.append(row);
      }
    } else {
      const note = document.createElement('div');
      note.textContent = 'one-vs-one vote of the SVC (no probabilities in this export)';
      box.append(note);
    }
  } catch (err) {
    const e = document.createElement('div');
    e.className = 'error';
    e.textContent = file.name + ': ' + (err && err.message ? err.message : String(err));
    box.append(e);
    li.dataset.error = '1';
  }
}
async function handle(files) {
  for (const f of files) await classify(f);
}
const drop = document.getElementById('drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); handle(Array.from(e.dataTransfer.files)); });
document.getElementById('file').addEventListener('change', (e) => handle(Array.from(e.target.files)));
open().catch((err) => { status.textContent = 'The model could not be loaded: ' + (err && err.message ? err.message : String(err)); status.className = 'error'; });
</script>
</body>
</html>
`;
}
