/** Downloading a catalogued model file at its pinned revision, refused unless its sha256 is the pinned one. */
import { LabError } from '../errors';
import { downloadFile, type DownloadOptions } from '../net/download';
import { hubEndpoint, hubUrl, type CatalogFile } from './catalog';

export async function downloadCatalogFile(
  repo: string,
  file: CatalogFile,
  dest: string,
  opts: Pick<DownloadOptions, 'signal' | 'onProgress' | 'fetchImpl'> & { label: string },
): Promise<{ path: string; bytes: number; sha256: string }> {
  if (!file.revision || !file.sha256) {
    throw new LabError(
      'not_found',
      `${opts.label} is not pinned to a revision and sha256 in this version of DINO Lab, so a download could not be verified and is not made. Download ${file.url} yourself, check it, and add it with Backbones > Add a file (or \`dinolab backbones add model.onnx\`).`,
    );
  }
  const url = hubUrl(repo, file.revision, file.file, hubEndpoint());
  // downloadFile checks the digest before the rename and removes the .part when it differs.
  const r = await downloadFile(url, dest, {
    ...opts,
    sha256: file.sha256,
    offlineAdvice: `Without internet access: download ${file.url} on another computer, check its sha256 is ${file.sha256}, and add it with Backbones > Add a file, or \`dinolab backbones add model.onnx\`.`,
  });
  return { path: r.path, bytes: r.bytes, sha256: r.sha256 };
}
