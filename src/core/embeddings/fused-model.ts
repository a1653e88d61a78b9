import { modelFacts, spliceModel } from '../onnx/onnx-splice';
import { i64Tensor, type NodeDef, OnnxType, type TensorDef } from '../onnx/onnx-writer';
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

/** The fused model, or why the backbone cannot be fused (it then runs with preprocessing in JS). */
export type FusedModel = { ok: true; bytes: Uint8Array } | { ok: false; reason: string };

/**
 * Puts the preprocessing graph in front of a backbone and reduces its outputs to one float32 [batch, dim]
 * embedding (token 0 taken inside the graph for last_hidden_state models, float16 cast back to float32),
 * so that only 3 KB per CIFAR image goes to the device and only the vector comes back.
 */
export function buildFusedModel(model: Uint8Array, spec: FusedModelSpec): FusedModel {
  let facts;
  try {
    facts = modelFacts(model);
  } catch (err) {
    return { ok: false, reason: `the model file could not be read as ONNX (${(err as Error).message})` };
  }
  // Opset 9 brings the broadcasting MatMul, Max and Min and the Cast/Floor forms the graph uses.
  if (facts.opset < 9) return { ok: false, reason: `the model uses operator set ${facts.opset}; in-graph preprocessing needs 9 or later` };
  if (facts.irVersion < 4) return { ok: false, reason: `the model's IR version ${facts.irVersion} predates initializers without inputs` };
  if (facts.externalData) return { ok: false, reason: 'the model keeps its weights in an external data file' };
  if (!facts.inputs.some((i) => i.name === spec.inputName)) return { ok: false, reason: `the model has no input ${spec.inputName}` };
  const out = facts.outputs.find((o) => o.name === spec.outputName);
  if (!out) return { ok: false, reason: `the model has no output ${spec.outputName}` };
  if (facts.inputs.some((i) => i.name === FUSED_INPUT) || facts.outputs.some((o) => o.name === FUSED_OUTPUT)) {
    return { ok: false, reason: 'the model is already fused' };
  }

  const pre = preprocessGraph({
    ...spec.preprocess,
    size: spec.imageSize,
    inputName: FUSED_INPUT,
    outputName: spec.inputName,
    outputType: spec.inputType,
  });
  const after: NodeDef[] = [];
  const inits: TensorDef[] = [...pre.initializers];
  let v = spec.outputName;
  if (spec.outputKind === 'cls') {
    inits.push(i64Tensor('dinolab/post/token0', [], [0]));
    after.push({ op: 'Gather', inputs: [v, 'dinolab/post/token0'], outputs: ['dinolab/post/cls'], attrs: { axis: { i: 1 } } });
    v = 'dinolab/post/cls';
  }
  after.push(
    out.elemType === OnnxType.FLOAT
      ? { op: 'Identity', inputs: [v], outputs: [FUSED_OUTPUT] }
      : { op: 'Cast', inputs: [v], outputs: [FUSED_OUTPUT], attrs: { to: { i: OnnxType.FLOAT } } },
  );
  const bytes = spliceModel(model, {
    removeInputs: [spec.inputName],
    inputs: [pre.input],
    nodesBefore: pre.nodes,
    nodesAfter: after,
    initializers: inits,
    outputs: [{ name: FUSED_OUTPUT, type: OnnxType.FLOAT, shape: ['batch', spec.dim] }],
  });
  return { ok: true, bytes };
}
