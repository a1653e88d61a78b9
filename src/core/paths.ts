import os from 'node:os';
import path from 'node:path';

/** The per-user data directory (models, downloads, the database), overridable with DINOLAB_DATA_DIR. */
export function defaultDataDir(): string {
  if (process.env.DINOLAB_DATA_DIR) return path.resolve(process.env.DINOLAB_DATA_DIR);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'DINO Lab');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'DINO Lab');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'dino-lab');
}

/** The database file: --db beats DINOLAB_DB beats <data dir>/dinolab.db. */
export function resolveDbPath(flag?: string, dataDir = defaultDataDir()): string {
  if (flag) return path.resolve(flag);
  if (process.env.DINOLAB_DB) return path.resolve(process.env.DINOLAB_DB);
  return path.join(dataDir, 'dinolab.db');
}

/**
 * The workspace (one folder that can be moved or deleted): the data directory, which holds uploads, tried
 * images and added or downloaded models, is `--data-dir` (or DINOLAB_DATA_DIR) when given, else the folder of
 * the chosen database (`--db` or DINOLAB_DB), else the default that the desktop app and the CLI share; the
 * database is the chosen one, else `<data dir>/dinolab.db`.
 */
export function resolveWorkspace(opts: { dataDir?: string; dbPath?: string } = {}): { dataDir: string; dbPath: string } {
  const chosenDb = opts.dbPath ?? process.env.DINOLAB_DB;
  const chosenDir = opts.dataDir ?? process.env.DINOLAB_DATA_DIR;
  const dataDir = chosenDir ? path.resolve(chosenDir) : chosenDb ? path.dirname(path.resolve(chosenDb)) : defaultDataDir();
  return { dataDir, dbPath: chosenDb ? path.resolve(chosenDb) : path.join(dataDir, 'dinolab.db') };
}

/** Where downloaded and built-in backbone models live inside the data directory. */
export const modelsDir = (dataDir: string): string => path.join(dataDir, 'models');
