/** Ids of the DINOv2 models users can download from Hugging Face. */
export type CatalogId = 'dinov2-small' | 'dinov2-base' | 'dinov2-large' | 'dinov2-giant';

/** One downloadable file of a catalogued model. */
export interface CatalogFile {
  precision: 'float32' | 'float16';
  /** Path inside the repository. */
  file: string;
  /** The commit of the Hugging Face repository the file is pinned to; null when not pinned (no download). */
  revision: string | null;
  /** sha256 of the file at that revision; a download whose digest differs is refused. */
  sha256: string | null;
  /** The file at its revision (or at `main` for an unpinned file, to fetch by hand). */
  url: string;
  /** Approximate size in bytes (exact for dinov2-small, estimated from parameter counts for the others). */
  approxBytes: number;
}

/** Where the model hub is: https://huggingface.co, or a mirror named by HF_ENDPOINT (the sha256 check stays). */
export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT || 'https://huggingface.co').replace(/\/+$/, '');
}

/** The URL of a file of a hub repository at a revision. */
export function hubUrl(repo: string, revision: string, file: string, endpoint = hubEndpoint()): string {
  return `${endpoint}/${repo}/resolve/${revision}/${file}`;
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

/** A revision and the sha256 of the fp32 and fp16 files there (null: not known, not pinned). */
interface Pins {
  revision: string | null;
  fp32: string | null;
  fp16: string | null;
}

function entry(id: CatalogId, arch: string, params: number, dim: number, fp32Bytes: number, fp16Bytes: number, pins: Pins): CatalogEntry {
  const repo = `onnx-community/${id}`;
  const file = (precision: 'float32' | 'float16', f: string, approxBytes: number, sha256: string | null): CatalogFile => {
    const revision = sha256 ? pins.revision : null;
    return { precision, file: f, revision, sha256: revision ? sha256 : null, url: hubUrl(repo, revision ?? 'main', f, 'https://huggingface.co'), approxBytes };
  };
  return {
    id,
    repo,
    arch,
    params,
    dim,
    files: [file('float32', 'onnx/model.onnx', fp32Bytes, pins.fp32), file('float16', 'onnx/model_fp16.onnx', fp16Bytes, pins.fp16)],
  };
}

// Pins (issue 12). Hugging Face could not be reached from where these were written; each value below was
// found published, for the same repository, commit and file, in other projects that pin these exports:
// dinov2-small at 8b1f705a3a7f6f062f6bdd21986c1583d3ef105d, onnx/model.onnx 88,532,934 bytes sha256 f22797eab...
// (several projects) and onnx/model_fp16.onnx 44,420,939 bytes sha256 16845e153... (two projects);
// dinov2-base at 31ef06cac16d5d301c5930d147002a058c85a5e4, onnx/model.onnx 346,627,111 bytes sha256
// 320d1012a... (one project). No pinned digest was found for dinov2-base fp16, dinov2-large or
// dinov2-giant: those files are not downloaded (add them by hand after checking them) until someone
// records their revision and sha256 here.
const SMALL: Pins = {
  revision: '8b1f705a3a7f6f062f6bdd21986c1583d3ef105d',
  fp32: 'f22797eabf810a75e41de68d378541ebea372122b25c4ce3ef25ff618250c20a',
  fp16: '16845e153bbaf3fd1ef8a2154c454940f901f6fe8a80dd4c6c319eaecdb4d2ee',
};
const BASE: Pins = { revision: '31ef06cac16d5d301c5930d147002a058c85a5e4', fp32: '320d1012a6fc65b101fc85ca30ee7a47b2e4f6a2e8bd78fb9d7036def0e30cb0', fp16: null };
const UNPINNED: Pins = { revision: null, fp32: null, fp16: null };

// dinov2-small's sizes are the published ones (88.5 MB / 44.4 MB). The others are estimates: parameters
// (DINOv2 paper / torch hub: ViT-B/14 86.6 M, ViT-L/14 304.4 M, ViT-g/14 1,136.5 M) x 4 or 2 bytes,
// scaled by small's observed overhead (88.5 MB for 22.06 M params = 4.012 bytes/param).
const PER_PARAM_FP32 = 88.5e6 / 22.06e6;
const PER_PARAM_FP16 = 44.4e6 / 22.06e6;
const est = (params: number): [number, number] => [Math.round(params * PER_PARAM_FP32), Math.round(params * PER_PARAM_FP16)];

/** The DINOv2 catalogue (onnx-community exports on Hugging Face). */
export const CATALOG: readonly CatalogEntry[] = [
  entry('dinov2-small', 'ViT-S/14', 22.06e6, 384, 88.5e6, 44.4e6, SMALL),
  entry('dinov2-base', 'ViT-B/14', 86.6e6, 768, ...est(86.6e6), BASE),
  entry('dinov2-large', 'ViT-L/14', 304.4e6, 1024, ...est(304.4e6), UNPINNED),
  entry('dinov2-giant', 'ViT-g/14', 1136.5e6, 1536, ...est(1136.5e6), UNPINNED),
];

/** Looks up a catalogue entry; undefined for unknown ids. */
export function catalogEntry(id: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.id === id);
}
