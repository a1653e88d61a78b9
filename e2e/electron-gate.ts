/**
 * Whether the Electron specs can run here, shared by playwright.config.ts and the electron specs: where
 * Electron's binary is missing (or DINOLAB_SKIP_ELECTRON is set) they are reported as skipped with this
 * reason, so the closing count shows them, instead of being left out of the run.
 */
import fs from 'node:fs';
import path from 'node:path';

const electronPath = path.join(import.meta.dirname, '..', 'node_modules', 'electron', 'path.txt');

/** Null where the electron specs run, else why they are skipped. */
export const electronSkipReason: string | null = process.env.DINOLAB_SKIP_ELECTRON
  ? 'DINOLAB_SKIP_ELECTRON is set'
  : fs.existsSync(electronPath)
    ? null
    : "no Electron binary here (node_modules/electron/path.txt is missing: `npm run setup` could not download it); the web host's specs cover the UI";
