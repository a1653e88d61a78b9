/**
 * What a classifier kind's ONNX head is: the nodes that turn float32 embeddings [batch, D] into the
 * app's outputs, built by each kind's `onnx-head.ts` and declared in its spec as `exportHead`. The export
 * (src/core/export/) puts it after a backbone or behind an `embedding` input.
 */
import { f32Tensor, i64Tensor, type NodeDef, OnnxType, type TensorDef, type ValueInfo } from '../onnx/onnx-writer';

/** Output names every head uses: `label` always, `probabilities` and/or `decision_values`. */
export const HEAD_OUTPUTS = { probabilities: 'probabilities', label: 'label', decisionValues: 'decision_values' } as const;

/** What a head is built against. */
export interface HeadIo {
  /** Name of the float32 [batch, dim] tensor the head reads. */
  input: string;
}

/** A head: nodes, weights, and the graph outputs it produces (always `label`, int64 [batch]). */
export interface HeadGraph {
  nodes: NodeDef[];
  initializers: TensorDef[];
  outputs: ValueInfo[];
  /** Lines for the user (e.g. "the k-NN head holds 50,000 training vectors: 614 MB"). */
  notes: string[];
}

/** Builds a head's nodes with unique `head/...` names. */
export class HeadBuilder {
  readonly nodes: NodeDef[] = [];
  readonly initializers: TensorDef[] = [];
  private n = 0;

  constructor(private readonly prefix = 'dinolab/head') {}

  /** A fresh value name. */
  name(hint: string): string {
    return `${this.prefix}/${hint}_${this.n++}`;
  }

  /** A float32 initializer; returns its name. */
  f32(hint: string, dims: number[], values: Float32Array | number[]): string {
    const t = f32Tensor(this.name(hint), dims, values);
    this.initializers.push(t);
    return t.name;
  }

  /** An int64 initializer; returns its name. */
  i64(hint: string, dims: number[], values: number[]): string {
    const t = i64Tensor(this.name(hint), dims, values);
    this.initializers.push(t);
    return t.name;
  }

  /** One node with one output (named `out` when given); returns the output's name. */
  op(type: string, inputs: string[], attrs?: NodeDef['attrs'], out?: string): string {
    const o = out ?? this.name(type.toLowerCase());
    this.nodes.push({ op: type, inputs, outputs: [o], name: `${this.prefix}/${type}_${this.nodes.length}`, attrs });
    return o;
  }

  /** A node with several outputs; returns their names. */
  multi(type: string, inputs: string[], count: number, attrs?: NodeDef['attrs']): string[] {
    const outs = Array.from({ length: count }, () => this.name(type.toLowerCase()));
    this.nodes.push({ op: type, inputs, outputs: outs, name: `${this.prefix}/${type}_${this.nodes.length}`, attrs });
    return outs;
  }

  /** `probabilities` = the given [batch, C] float32 rows, `label` = their argmax (first maximum, as argmaxRows). */
  probabilitiesAndLabel(proba: string, numClasses: number): HeadGraph {
    this.op('Identity', [proba], undefined, HEAD_OUTPUTS.probabilities);
    this.op('ArgMax', [proba], { axis: { i: 1 }, keepdims: { i: 0 } }, HEAD_OUTPUTS.label);
    return this.finish([
      { name: HEAD_OUTPUTS.probabilities, type: OnnxType.FLOAT, shape: ['batch', numClasses] },
      { name: HEAD_OUTPUTS.label, type: OnnxType.INT64, shape: ['batch'] },
    ]);
  }

  /** The head with these outputs. */
  finish(outputs: ValueInfo[], notes: string[] = []): HeadGraph {
    return { nodes: this.nodes, initializers: this.initializers, outputs, notes };
  }
}

/** Softmax over axis 1 of a [batch, C] tensor (opset 13+). */
export function softmaxRows(b: HeadBuilder, logits: string): string {
  return b.op('Softmax', [logits], { axis: { i: 1 } });
}

/** x @ W + bias for W stored row-major [inDim, outDim]. */
export function dense(b: HeadBuilder, x: string, W: Float32Array, bias: Float32Array, inDim: number, outDim: number): string {
  const w = b.f32('W', [inDim, outDim], W);
  const bb = b.f32('b', [outDim], bias);
  return b.op('Add', [b.op('MatMul', [x, w]), bb]);
}
