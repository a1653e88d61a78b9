import { modelFacts, spliceModel } from '../onnx/onnx-splice';
import { i64Tensor, type NodeDef, OnnxType, type TensorDef, type ValueInfo } from '../onnx/onnx-writer';
import type { Preset } from '../images/preprocess';
import { preprocessGraph } from '../images/preprocess-graph';

/** Input of a fused model: uint8 [batch, height, width, 3], the images as stored. */
export const FUSED_INPUT = 'dinolab_images';
/** Output of a fused model: float32 [batch, dim], the embedding and nothing else. */
export const FUSED_OUTPUT = 'dinolab_embedding';

/** The backbone's interface (as the registry recorded it) and the images the fused model will take. */
export interface FusedModelSpec {
  inputName: string;
  inputType: 'float32' | 'float16';
  outputName: string;
  outputKind: 'pooler' | 'cls' | 'first';
  dim: number;
  imageSize: number;
  preprocess: { preset: Preset; width: number; height: number };
}

/** What comes after the embedding in an exported model: a classifier head (see classifiers/head-graph.ts). */
export interface SpliceHead {
  nodes: NodeDef[];
  initializers: TensorDef[];
  outputs: ValueInfo[];
}

/** A backbone spliced for export: images in (uint8, preprocessed in the graph) or float32 pixel_values. */
export interface ExportSpliceSpec extends Omit<FusedModelSpec, 'preprocess'> {
  /** The in-graph preprocessing; null: the input is the backbone's own float32 [batch, 3, S, S] tensor. */
  preprocess: FusedModelSpec['preprocess'] | null;
  /** Name of the new graph input. */
  input: string;
  /** Name the float32 embedding gets inside the graph; the head reads it. */
  embedding: string;
  head: SpliceHead;
  /** Keep initializers in external files (the caller writes the model next to them). */
  allowExternalData: boolean;
}

/** The fused model, or why the backbone cannot be fused (it then runs with preprocessing in JS). */
export type FusedModel = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/**
 * Puts the preprocessing graph in front of a backbone and reduces its outputs to one float32 [batch, dim]
 * embedding (token 0 taken inside the graph for last_hidden_state models, float16 cast back to float32),
 * so that only 3 KB per CIFAR image goes to the device and only the vector comes back.
 */
export function buildFusedModel(model: Uint8Array, spec: FusedModelSpec): FusedModel {
  return spliceBackbone(model, {
    ...spec,
    input: FUSED_INPUT,
    embedding: FUSED_OUTPUT,
    head: { nodes: [], initializers: [], outputs: [{ name: FUSED_OUTPUT, type: OnnxType.FLOAT, shape: ['batch', spec.dim] }] },
    allowExternalData: false,
  });
}

/**
 * The backbone with an input in front (the preprocessing graph, or a float32 pixel tensor cast to the
 * backbone's precision) and a head after its float32 embedding: the fused embedder and the exported
 * model (src/core/export/) are both this splice.
 */
export function spliceBackbone(model: Uint8Array, spec: ExportSpliceSpec): FusedModel {
  let facts;
  try {
    facts = modelFacts(model);
  } catch (err) {
    return { ok: false, reason: `the model file could not be read as ONNX (${(err as Error).message})` };
  }
  // Opset 9 brings the broadcasting MatMul, Max and Min and the Cast/Floor forms the graph uses.
  if (facts.opset < 9) return { ok: false, reason: `the model uses operator set ${facts.opset}; in-graph preprocessing needs 9 or later` };
  if (facts.irVersion < 4) return { ok: false, reason: `the model's IR version ${facts.irVersion} predates initializers without inputs` };
  if (facts.externalData && !spec.allowExternalData) return { ok: false, reason: 'the model keeps its weights in an external data file' };
  if (!facts.inputs.some((i) => i.name === spec.inputName)) return { ok: false, reason: `the model has no input ${spec.inputName}` };
  const out = facts.outputs.find((o) => o.name === spec.outputName);
  if (!out) return { ok: false, reason: `the model has no output ${spec.outputName}` };
  // A float32 pixel input under the backbone's own name is the backbone's input itself: nothing goes before it.
  const keepInput = !spec.preprocess && spec.input === spec.inputName && spec.inputType === 'float32';
  if ((!keepInput && facts.inputs.some((i) => i.name === spec.input)) || facts.outputs.some((o) => o.name === spec.embedding)) {
    return { ok: false, reason: 'the model is already fused' };
  }

  let input: ValueInfo;
  const before: NodeDef[] = [];
  const inits: TensorDef[] = [];
  if (spec.preprocess) {
    const pre = preprocessGraph({
      ...spec.preprocess,
      size: spec.imageSize,
      inputName: spec.input,
      outputName: spec.inputName,
      outputType: spec.inputType,
    });
    input = pre.input;
    before.push(...pre.nodes);
    inits.push(...pre.initializers);
  } else {
    input = { name: spec.input, type: OnnxType.FLOAT, shape: ['batch', 3, spec.imageSize, spec.imageSize] };
    if (!keepInput)
      before.push(
      spec.inputType === 'float16'
        ? { op: 'Cast', inputs: [spec.input], outputs: [spec.inputName], attrs: { to: { i: OnnxType.FLOAT16 } } }
        : { op: 'Identity', inputs: [spec.input], outputs: [spec.inputName] },
    );
  }
  const after: NodeDef[] = [];
  let v = spec.outputName;
  if (spec.outputKind === 'cls') {
    inits.push(i64Tensor('dinolab/post/token0', [], [0]));
    after.push({ op: 'Gather', inputs: [v, 'dinolab/post/token0'], outputs: ['dinolab/post/cls'], attrs: { axis: { i: 1 } } });
    v = 'dinolab/post/cls';
  }
  after.push(
    out.elemType === OnnxType.FLOAT
      ? { op: 'Identity', inputs: [v], outputs: [spec.embedding] }
      : { op: 'Cast', inputs: [v], outputs: [spec.embedding], attrs: { to: { i: OnnxType.FLOAT } } },
  );
  after.push(...spec.head.nodes);
  inits.push(...spec.head.initializers);
  const bytes = spliceModel(model, {
    removeInputs: keepInput ? [] : [spec.inputName],
    inputs: keepInput ? [] : [input],
    nodesBefore: before,
    nodesAfter: after,
    initializers: inits,
    outputs: spec.head.outputs,
  });
  return { ok: true, bytes };
}
