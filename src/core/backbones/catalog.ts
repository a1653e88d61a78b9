/** Ids of the DINOv2 models users can download from Hugging Face. */
export type CatalogId = 'dinov2-small' | 'dinov2-base' | 'dinov2-large' | 'dinov2-giant';

/** One downloadable file of a catalogued model. */
export interface CatalogFile {
  precision: 'float32' | 'float16';
  /** Path inside the repository. */
  file: string;
  url: string;
  /** Approximate size in bytes (exact for dinov2-small, estimated from parameter counts for the others). */
  approxBytes: number;
}

/** A DINOv2 model in the onnx-community exports. */
export interface CatalogEntry {
  id: CatalogId;
  repo: string;
  arch: string;
  params: number;
  dim: number;
  files: CatalogFile[];
}

function entry(id: CatalogId, arch: string, params: number, dim: number, fp32Bytes: number, fp16Bytes: number): CatalogEntry {
  const repo = `onnx-community/${id}`;
  const file = (precision: 'float32' | 'float16', f: string, approxBytes: number): CatalogFile => ({
    precision,
    file: f,
    url: `https://huggingface.co/${repo}/resolve/main/${f}`,
    approxBytes,
  });
  return {
    id,
    repo,
    arch,
    params,
    dim,
    files: [file('float32', 'onnx/model.onnx', fp32Bytes), file('float16', 'onnx/model_fp16.onnx', fp16Bytes)],
  };
}

// dinov2-small's sizes are the published ones (88.5 MB / 44.4 MB). The others are estimates: parameters
// (DINOv2 paper / torch hub: ViT-B/14 86.6 M, ViT-L/14 304.4 M, ViT-g/14 1,136.5 M) x 4 or 2 bytes,
// scaled by small's observed overhead (88.5 MB for 22.06 M params = 4.012 bytes/param).
const PER_PARAM_FP32 = 88.5e6 / 22.06e6;
const PER_PARAM_FP16 = 44.4e6 / 22.06e6;
const est = (params: number): [number, number] => [Math.round(params * PER_PARAM_FP32), Math.round(params * PER_PARAM_FP16)];

/** The DINOv2 catalogue (onnx-community exports on Hugging Face). */
export const CATALOG: readonly CatalogEntry[] = [
  entry('dinov2-small', 'ViT-S/14', 22.06e6, 384, 88.5e6, 44.4e6),
  entry('dinov2-base', 'ViT-B/14', 86.6e6, 768, ...est(86.6e6)),
  entry('dinov2-large', 'ViT-L/14', 304.4e6, 1024, ...est(304.4e6)),
  entry('dinov2-giant', 'ViT-g/14', 1136.5e6, 1536, ...est(1136.5e6)),
];

/** Looks up a catalogue entry; undefined for unknown ids. */
export function catalogEntry(id: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.id === id);
}
