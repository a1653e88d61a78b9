/**
 * `dinolab export-model`: a finished run as one portable ONNX model. Full model: the run's backbone with
 * the set's preprocessing in front (uint8 `image [N, H, W, 3]` when the set's images share one size, the
 * same in-graph preprocessing the embedding path uses) or a float32 `pixel_values` input (preprocessing
 * described in the metadata), and the classifier's head after it. Head only: `embedding [N, D]` in.
 * Outputs `label` int64 [N] and `probabilities` [N, C] (svc: `decision_values`). The model's
 * metadata_props carry the class names, the run's provenance and the input's description.
 *
 * A plain call, not a job: splicing is byte copying (an 88 MB backbone exports in about a second), and
 * the head is built from the loaded classifier in memory.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import pkg from '../../../package.json';
import { getBackbone, type BackboneRow } from '../backbones/queries';
import { isClassifierKind } from '../../shared/contract';
import { HEAD_OUTPUTS, type HeadGraph } from '../classifiers/head-graph';
import { getSpec } from '../classifiers/registry';
import type { Db } from '../db/database';
import { getDataset } from '../datasets/queries';
import { modelPathOf } from '../embeddings/engine';
import { spliceBackbone } from '../embeddings/fused-model';
import { getSetRow, imageSizes } from '../embeddings/queries';
import { LabError } from '../errors';
import { NORMALIZE, type Preset } from '../images/preprocess';
import { resizeMatrix } from '../images/preprocess-graph';
import { externalDataFiles, modelFacts } from '../onnx/onnx-splice';
import { encodeMetadataProps, encodeModel, f32Tensor, type NodeDef, OnnxType, type TensorDef, type ValueInfo } from '../onnx/onnx-writer';
import { loadRunClassifier } from '../runs/models/queries';
import { getRun, type RunDetail } from '../runs/queries';

/** Input names of exported models. */
export const EXPORT_INPUTS = { image: 'image', pixels: 'pixel_values', embedding: 'embedding' } as const;

export interface ExportModelOptions {
  out: string;
  headOnly: boolean;
  modelsDir: string;
  /** Largest single protobuf file (tests lower it); above, the head's weights go to a data file. */
  protobufLimit?: number;
}

/** What an export wrote. */
export interface ExportModelResult {
  file: string;
  bytes: number;
  /** Weight files written next to the model (a backbone with external data). */
  extraFiles: string[];
  input: { name: string; type: 'uint8' | 'float32'; shape: (number | string)[] };
  outputs: string[];
  classes: string[];
  kind: string;
  seconds: number;
  notes: string[];
}

/** Largest model protobuf can hold in one message. */
const PROTOBUF_LIMIT = 2 ** 31 - 1;

/** What an export is made of, gathered (and checked) from the run. */
interface ExportSource {
  run: RunDetail;
  classes: string[];
  backbone: BackboneRow;
  preset: Preset;
  datasetId: number;
  /** Embedding width of the set (what the head takes). */
  dim: number;
  metadata: Record<string, string>;
}

function sourceOf(db: Db, runId: number): ExportSource {
  if (!Number.isInteger(runId) || runId <= 0) throw new LabError('invalid_input', '--run must be a run id (a positive integer).');
  let run: RunDetail;
  try {
    run = getRun(db, runId);
  } catch (err) {
    if (err instanceof LabError && err.code === 'not_found') {
      throw new LabError('not_found', `Run ${runId} does not exist: it was deleted, or went with its embedding set, dataset or backbone (deleting those deletes their runs).`);
    }
    throw err;
  }
  if (run.status !== 'done') throw new LabError('conflict', `Run ${runId} is '${run.status}'; only finished runs can be exported.`);
  const set = getSetRow(db, run.set_id);
  if (!set) throw new LabError('not_found', `Run ${runId}'s embedding set ${run.set_id} was deleted: the run cannot be exported.`);
  let backbone: BackboneRow;
  try {
    backbone = getBackbone(db, set.backbone_id);
  } catch {
    throw new LabError('not_found', `Run ${runId}'s backbone (id ${set.backbone_id}) was deleted: the run cannot be exported.`);
  }
  let ds;
  try {
    ds = getDataset(db, set.dataset_id);
  } catch {
    throw new LabError('not_found', `Run ${runId}'s dataset (id ${set.dataset_id}) was deleted: the run cannot be exported.`);
  }
  const metadata: Record<string, string> = {
    'dinolab.classes': JSON.stringify(ds.classes),
    'dinolab.run': String(run.id),
    'dinolab.kind': run.kind,
    'dinolab.params': JSON.stringify(run.params),
    'dinolab.seed': String(run.seed),
    'dinolab.dataset': ds.name,
    'dinolab.dataset_fingerprint': ds.fingerprint ?? '',
    'dinolab.backbone': backbone.name,
    'dinolab.backbone_sha256': backbone.sha256 ?? '',
    'dinolab.backbone_precision': backbone.precision,
    'dinolab.preset': set.preset,
    'dinolab.metrics_test': JSON.stringify(run.metrics.test ?? null),
    'dinolab.app_version': pkg.version,
    'dinolab.exported_at': new Date().toISOString(),
  };
  if (run.fingerprint) metadata['dinolab.run_fingerprint'] = run.fingerprint;
  return { run, classes: ds.classes, backbone, preset: set.preset as Preset, datasetId: set.dataset_id, dim: set.dim, metadata };
}

function headOf(db: Db, src: ExportSource, input: string): HeadGraph {
  if (!isClassifierKind(src.run.kind)) throw new LabError('bad_format', `Run ${src.run.id} is of an unknown kind "${src.run.kind}".`);
  const clf = loadRunClassifier(db, src.run.id);
  return getSpec(src.run.kind).exportHead(clf, { input });
}

function outputsText(head: HeadGraph, classes: number): string {
  return head.outputs
    .map((o) =>
      o.name === HEAD_OUTPUTS.label
        ? 'label int64 [N]: the predicted class index (see dinolab.classes)'
        : o.name === HEAD_OUTPUTS.probabilities
          ? `probabilities float32 [N, ${classes}]: class probabilities, rows sum to 1`
          : `decision_values float32 [N, ${String(o.shape[1])}]: one-vs-one decision values of class pairs (0,1), (0,2), ..., (1,2), ... (scikit-learn's 'ovo' layout; two classes: one column, positive favours class 1)`,
    )
    .join('; ');
}

/** The raw-pixels baseline's front end as a graph: uint8 HWC -> Pillow-bicubic 32x32 -> HWC / 255 flattened. */
function rawPixelsFrontEnd(width: number, height: number, embedding: string): { input: ValueInfo; nodes: NodeDef[]; initializers: TensorDef[] } {
  const p = (n: string): string => `dinolab/raw/${n}`;
  const kwT = resizeMatrix(width, 32, 0, 32); // [32, W] -> transpose
  const t = new Float32Array(width * 32);
  for (let r = 0; r < 32; r++) for (let c = 0; c < width; c++) t[c * 32 + r] = kwT[r * width + c]!;
  const initializers = [
    f32Tensor(p('kwT'), [width, 32], t),
    f32Tensor(p('kh'), [32, height], resizeMatrix(height, 32, 0, 32)),
    f32Tensor(p('half'), [], [0.5]),
    f32Tensor(p('zero'), [], [0]),
    f32Tensor(p('255'), [], [255]),
    { name: p('flat'), type: OnnxType.INT64, dims: [2], raw: new Uint8Array(BigInt64Array.from([0n, 3072n]).buffer) },
  ];
  const nodes: NodeDef[] = [];
  const op = (type: string, inputs: string[], out: string, attrs?: NodeDef['attrs']): string => {
    nodes.push({ op: type, inputs, outputs: [out], attrs });
    return out;
  };
  const u8 = (x: string, tag: string): string =>
    op('Min', [op('Max', [op('Floor', [op('Add', [x, p('half')], p(`${tag}_add`))], p(`${tag}_floor`)), p('zero')], p(`${tag}_max`)), p('255')], p(`${tag}_u8`));
  const chw = op('Transpose', [op('Cast', [EXPORT_INPUTS.image], p('float'), { to: { i: OnnxType.FLOAT } })], p('chw'), { perm: { ints: [0, 3, 1, 2] } });
  const horiz = u8(op('MatMul', [chw, p('kwT')], p('h')), 'h');
  const vert = u8(op('MatMul', [p('kh'), horiz], p('v')), 'v'); // [N, 3, 32, 32]
  const hwc = op('Transpose', [vert], p('hwc'), { perm: { ints: [0, 2, 3, 1] } });
  op('Reshape', [op('Div', [hwc, p('255')], p('scaled')), p('flat')], embedding);
  return { input: { name: EXPORT_INPUTS.image, type: OnnxType.UINT8, shape: ['batch', height, width, 3] }, nodes, initializers };
}

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 22);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function writeModel(out: string, parts: Uint8Array[]): number {
  fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  const tmp = `${out}.part`;
  const fd = fs.openSync(tmp, 'w');
  let bytes = 0;
  try {
    for (const p of parts) {
      fs.writeSync(fd, p);
      bytes += p.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, out);
  return bytes;
}

/**
 * When the model would pass protobuf's limit, moves the head's larger weights to `<out>.data` (ONNX
 * external data, offsets 4 KiB-aligned) and returns what that file must hold; null when all fits.
 */
function externalizeHead(head: HeadGraph, out: string, otherBytes: number, limit: number): { file: string; parts: { offset: number; raw: Uint8Array }[]; length: number } | null {
  const headBytes = head.initializers.reduce((a, t) => a + t.raw.length, 0);
  // 1 MB for the nodes, names and metadata around the weights.
  if (otherBytes + headBytes + (1 << 20) <= limit) return null;
  const file = `${path.basename(out)}.data`;
  const parts: { offset: number; raw: Uint8Array }[] = [];
  let offset = 0;
  for (const t of head.initializers) {
    if (t.raw.length < 4096) continue;
    offset = Math.ceil(offset / 4096) * 4096;
    t.external = { location: file, offset, length: t.raw.length };
    parts.push({ offset, raw: t.raw });
    offset += t.raw.length;
  }
  return { file: path.join(path.dirname(path.resolve(out)), file), parts, length: offset };
}

function writeData(file: string, d: { parts: { offset: number; raw: Uint8Array }[] }): void {
  const fd = fs.openSync(file, 'w');
  try {
    for (const p of d.parts) fs.writeSync(fd, p.raw, 0, p.raw.length, p.offset);
  } finally {
    fs.closeSync(fd);
  }
}

/** Exports a finished run as an ONNX model at `opts.out` (see the file comment). */
export function exportModel(db: Db, runId: number, opts: ExportModelOptions): ExportModelResult {
  const t0 = performance.now();
  if (!opts.out) throw new LabError('invalid_input', '--out is required (the .onnx file to write).');
  const src = sourceOf(db, runId);
  const C = src.classes.length;
  const D = src.dim;
  const md = src.metadata;
  const extraFiles: string[] = [];
  let input: ExportModelResult['input'];
  let parts: Uint8Array[];
  let head: HeadGraph;
  let data: ReturnType<typeof externalizeHead>;
  const limit = opts.protobufLimit ?? PROTOBUF_LIMIT;

  if (opts.headOnly) {
    head = headOf(db, src, EXPORT_INPUTS.embedding);
    data = externalizeHead(head, opts.out, 0, limit);
    input = { name: EXPORT_INPUTS.embedding, type: 'float32', shape: ['batch', D] };
    md['dinolab.input'] = `embedding float32 [N, ${D}]: the ${src.backbone.name} embedding of each image (${src.preset} preprocessing), as dinolab export-embeddings writes it`;
    md['dinolab.outputs'] = outputsText(head, C);
    parts = [
      encodeModel({
        inputs: [{ name: EXPORT_INPUTS.embedding, type: OnnxType.FLOAT, shape: ['batch', D] }],
        outputs: head.outputs,
        nodes: head.nodes,
        initializers: head.initializers,
        opset: 17,
        graphName: `dinolab-run-${runId}-head`,
        metadata: md,
      }),
    ];
  } else {
    const sizes = imageSizes(db, src.datasetId, 3);
    const one = sizes.length === 1 && sizes[0]!.width > 0 && sizes[0]!.height > 0 ? sizes[0]! : null;
    const embedding = 'dinolab/embedding';
    head = headOf(db, src, embedding);
    const backboneBytes = src.backbone.kind === 'raw-pixels' ? 0 : src.backbone.kind === 'onnx' && src.backbone.file && fs.existsSync(src.backbone.file) ? fs.statSync(src.backbone.file).size : src.backbone.sizeBytes;
    data = externalizeHead(head, opts.out, backboneBytes, limit);
    if (src.backbone.kind === 'raw-pixels') {
      if (!one) throw new LabError('invalid_input', `The raw-pixels baseline's export takes images of one size, and dataset ${src.datasetId} has images of several sizes: use --head-only.`);
      const front = rawPixelsFrontEnd(one.width, one.height, embedding);
      input = { name: EXPORT_INPUTS.image, type: 'uint8', shape: ['batch', one.height, one.width, 3] };
      md['dinolab.input'] = `image uint8 [N, ${one.height}, ${one.width}, 3]: RGB pixels, row-major HWC (resized to 32x32 with Pillow's bicubic inside the model when another size)`;
      md['dinolab.outputs'] = outputsText(head, C);
      parts = [
        encodeModel({
          inputs: [front.input],
          outputs: head.outputs,
          nodes: [...front.nodes, ...head.nodes],
          initializers: [...front.initializers, ...head.initializers],
          opset: 17,
          graphName: `dinolab-run-${runId}`,
          metadata: md,
        }),
      ];
    } else {
      const b = src.backbone;
      let modelPath: string;
      try {
        modelPath = modelPathOf(b, opts.modelsDir);
      } catch (err) {
        if (err instanceof LabError) throw new LabError('not_found', `Run ${runId} cannot be exported with its backbone: ${err.message} (--head-only exports the classifier alone).`);
        throw err;
      }
      if (!md['dinolab.backbone_sha256']) md['dinolab.backbone_sha256'] = sha256File(modelPath);
      const model = new Uint8Array(fs.readFileSync(modelPath));
      const facts = modelFacts(model);
      const S = b.imageSize;
      // float32 pixels; a float16 backbone whose own input is called pixel_values keeps it behind a Cast.
      const pixelInput = one ? EXPORT_INPUTS.image : b.precision === 'float16' && (b.inputName ?? 'pixel_values') === EXPORT_INPUTS.pixels ? `${EXPORT_INPUTS.pixels}_float32` : EXPORT_INPUTS.pixels;
      const r = spliceBackbone(model, {
        inputName: b.inputName ?? 'pixel_values',
        inputType: b.precision,
        outputName: b.outputName ?? 'pooler_output',
        outputKind: b.outputKind ?? 'pooler',
        dim: D,
        imageSize: S,
        preprocess: one ? { preset: src.preset, width: one.width, height: one.height } : null,
        input: pixelInput,
        embedding,
        head,
        allowExternalData: true,
      });
      if (!r.ok) throw new LabError('bad_model', `The backbone "${b.name}" cannot be exported as one model: ${r.reason}.`);
      const norm = `mean ${JSON.stringify(NORMALIZE.mean.map((v) => +v.toFixed(3)))}, std ${JSON.stringify(NORMALIZE.std.map((v) => +v.toFixed(3)))}`;
      const presetText =
        src.preset === 'dinov2-eval'
          ? `resize the shorter side to ${Math.round((S * 256) / 224)} (bicubic), centre-crop ${S}x${S}`
          : `resize to ${S}x${S} (bicubic)`;
      if (one) {
        input = { name: EXPORT_INPUTS.image, type: 'uint8', shape: ['batch', one.height, one.width, 3] };
        md['dinolab.input'] = `image uint8 [N, ${one.height}, ${one.width}, 3]: RGB pixels, row-major HWC, at the dataset's image size; the preprocessing (${src.preset}: ${presetText}, /255, ${norm}) runs inside the model`;
      } else {
        input = { name: pixelInput, type: 'float32', shape: ['batch', 3, S, S] };
        md['dinolab.input'] = `${pixelInput} float32 [N, 3, ${S}, ${S}]: CHW, preprocessed by the caller`;
        md['dinolab.preprocessing'] = `${src.preset}: decode to RGB, ${presetText}, scale to [0, 1], subtract ${norm.replace(', std', ' and divide by std')}, CHW`;
      }
      md['dinolab.outputs'] = outputsText(head, C);
      parts = [r.bytes, encodeMetadataProps(md)];
      if (facts.externalData) {
        const outDir = path.dirname(path.resolve(opts.out));
        for (const rel of externalDataFiles(model)) {
          const from = path.resolve(path.dirname(modelPath), rel);
          const to = path.resolve(outDir, rel);
          if (!to.startsWith(outDir + path.sep)) throw new LabError('bad_model', `The backbone's weight file "${rel}" lies outside its folder; it cannot be exported next to the model.`);
          if (!fs.existsSync(from)) throw new LabError('not_found', `The backbone's weight file ${from} is missing.`);
          fs.mkdirSync(path.dirname(to), { recursive: true });
          if (from !== to) fs.copyFileSync(from, to);
          extraFiles.push(to);
        }
      }
    }
  }
  const total = parts.reduce((a, p) => a + p.length, 0);
  if (total > limit) {
    throw new LabError(
      'invalid_input',
      `The exported model would be ${(total / 1e9).toFixed(2)} GB, over protobuf's 2 GB limit for one file even with the classifier's weights in a separate file; moving the backbone's own weights out is not supported yet.`,
    );
  }
  const bytes = writeModel(opts.out, parts);
  if (data) {
    writeData(data.file, data);
    extraFiles.push(data.file);
    head.notes.push(`The classifier's weights (${(data.length / 1e6).toFixed(1)} MB) are in ${path.basename(data.file)} next to the model, which would pass protobuf's 2 GB limit otherwise: keep the two files together.`);
  }
  return {
    file: path.resolve(opts.out),
    bytes,
    extraFiles,
    input,
    outputs: head.outputs.map((o) => o.name),
    classes: src.classes,
    kind: src.run.kind,
    seconds: (performance.now() - t0) / 1000,
    notes: head.notes,
  };
}
