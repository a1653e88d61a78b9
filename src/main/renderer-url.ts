import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The renderer's URL and the IPC sender check. The file URL is made by pathToFileURL, which escapes `#`,
 * `?`, `%` and spaces in the checkout path (concatenating `file://` + path made `#...` a fragment and
 * `?...` a query, so the page did not load and every call was refused). The development server's URL
 * (ELECTRON_RENDERER_URL) is compared by origin and path.
 */
export function rendererUrl(file: string, devUrl = process.env.ELECTRON_RENDERER_URL): string {
  return devUrl ?? pathToFileURL(file).href;
}

/** Whether a frame URL (as Chromium reports it) is our renderer page, loaded from `file` or the dev server. */
export function isRendererUrl(frameUrl: string, file: string, devUrl = process.env.ELECTRON_RENDERER_URL): boolean {
  let actual: URL;
  try {
    actual = new URL(frameUrl);
  } catch {
    return false;
  }
  if (devUrl) {
    const expected = new URL(devUrl);
    return actual.origin === expected.origin && actual.pathname === expected.pathname;
  }
  if (actual.protocol !== 'file:' || actual.host !== '') return false;
  try {
    return path.resolve(fileURLToPath(actual)) === path.resolve(file);
  } catch {
    return false;
  }
}
