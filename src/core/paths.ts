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

/** Where downloaded and built-in backbone models live inside the data directory. */
export const modelsDir = (dataDir: string): string => path.join(dataDir, 'models');
