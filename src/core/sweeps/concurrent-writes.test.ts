/**
 * A sweep job (its own process and connection) files runs under its sweep while the host writes the job's
 * progress to the same file. In WAL mode a deferred transaction that reads first and writes later fails at
 * once with SQLITE_BUSY ("database is locked", no busy wait) when another connection committed in between:
 * its snapshot is stale. The sweep's writes must take the write lock when they begin (BEGIN IMMEDIATE),
 * so the other writer waits for them, or they wait for it, and neither fails.
 *
 * The interleaving is forced: the second connection commits right after the sweep's first read.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers';
import { openDatabase, type Db } from '../db/database';
import { insertBlobEmbeddingSet } from '../runs/test-helpers';
import { createRun } from '../runs/train-run';
import { attachSweepRun, insertSweep, listSweepRuns } from './queries';

const t = tempDir('dinolab-sweep-concurrent-');
let db: Db;
let other: Database.Database;
let setId = 0;
beforeAll(() => {
  const file = path.join(t.dir, 'lab.db');
  db = openDatabase(file);
  setId = insertBlobEmbeddingSet(db, { numClasses: 2, dim: 4, trainPerClass: 5, testPerClass: 2, separation: 1, seed: 1, name: 'Blobs' }).setId;
  // The "host": another connection on the same file, as the web host's.
  other = new Database(file);
  other.pragma('busy_timeout = 2000');
  other.exec('CREATE TABLE IF NOT EXISTS host_writes (n INTEGER)');
});
afterAll(() => {
  other?.close();
  db?.close();
  t.cleanup();
});

/** Runs fn with the other connection committing a write right after db's first read inside it. */
function withWriteAfterFirstRead<T>(fn: () => T): T {
  const prepare = db.prepare.bind(db);
  let fired = false;
  const patched = (sql: string): Database.Statement => {
    const st = prepare(sql);
    if (!/^\s*SELECT/i.test(sql)) return st;
    const get = st.get.bind(st);
    return Object.assign(st, {
      get: (...args: unknown[]) => {
        const r = get(...args);
        if (!fired && db.inTransaction) {
          fired = true;
          // The host's write: under IMMEDIATE it cannot get the lock while the sweep holds it (it would wait
          // and time out here, in one thread), so it is only attempted where the sweep holds no write lock.
          try {
            other.prepare('INSERT INTO host_writes (n) VALUES (1)').run();
          } catch (e) {
            if (!/locked|busy/i.test(String(e))) throw e;
          }
        }
        return r;
      },
    });
  };
  (db as unknown as { prepare: typeof patched }).prepare = patched;
  try {
    return fn();
  } finally {
    (db as unknown as { prepare: typeof prepare }).prepare = prepare;
  }
}

describe('sweep writes beside another writer', () => {
  it('filing a run under a sweep does not fail with "database is locked" when the host commits meanwhile', () => {
    other.pragma('busy_timeout = 50');
    const sweepId = insertSweep(db, { setId, kinds: ['logreg'], sizes: { mode: 'per_class', values: [2] }, repeats: 1, seed: 0 });
    const runId = createRun(db, { setId, kind: 'logreg', seed: 0 });
    withWriteAfterFirstRead(() => attachSweepRun(db, { sweepId, sizeIndex: 0, repeat: 0, kind: 'logreg', runId, trainRows: 4, minPerClass: 2, note: null }));
    expect(listSweepRuns(db, sweepId).map((r) => r.run_id)).toEqual([runId]);
  });
});
