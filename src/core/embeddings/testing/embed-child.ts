/**
 * Runs one embedding set in its own process, for the crash test (it gets SIGKILLed mid-run).
 * Usage: node --import tsx embed-child.ts <db> <setId> <modelsDir> <batchSize> <delayMs>
 * Prints "progress <done>" after every committed batch.
 */
import { openDatabase } from '../../db/database';
import { runEmbeddingSet } from '../pipeline';
import { pixelLoader } from './fixture-db';

const [dbFile, setId, modelsDir, batch, delay] = process.argv.slice(2);
const db = openDatabase(dbFile!);
const summary = await runEmbeddingSet(db, Number(setId), {
  modelsDir: modelsDir!,
  provider: 'cpu',
  batchSize: Number(batch),
  loadImage: pixelLoader(db, Number(delay)),
  onProgress: (p) => {
    if (p.phase === 'embedding') process.stdout.write(`progress ${p.done}\n`);
  },
});
process.stdout.write(`finished ${summary.status} ${summary.done}\n`);
db.close();
