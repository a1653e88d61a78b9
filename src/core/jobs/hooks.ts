/** Host-side hooks per job kind: labels shown in the jobs drawer and cleanup after a killed job. */
import type { Db } from '../db/database';
import { nowIso } from '../db/database';
import type { JobKindHooks } from './manager';
import type { JobKind } from './types';

function setPartial(db: Db, setId: number, reason: string): void {
  db.prepare(`UPDATE embedding_sets SET status = 'partial', error = ? WHERE id = ? AND status IN ('running','pending')`).run(reason, setId);
}

function runInterrupted(db: Db, runId: number, reason: string): void {
  db.prepare(`UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ? AND status IN ('queued','running')`).run(reason, nowIso(), runId);
}

export const jobHooks: Partial<Record<JobKind, JobKindHooks>> = {
  selftest: { label: (p) => `Self-test (${(p as { steps: number }).steps} steps)` },
  import: {
    label: (p) => {
      const s = (p as { source: { type: string; path?: string }; name?: string }).source;
      return `Import ${(p as { name?: string }).name ?? (s.type === 'sample' ? 'Shapes-10' : (s.path ?? '').split(/[\\/]/).filter(Boolean).pop())}`;
    },
  },
  download: { label: (p) => `Download ${(p as { which: string }).which === 'cifar10' ? 'CIFAR-10' : 'CIFAR-100'}` },
  'backbone-download': { label: (p) => `Download ${(p as { model: string }).model}${(p as { precision: string }).precision === 'float16' ? ' (fp16)' : ''}` },
  embed: {
    label: (p) => `Embed ${(p as { label?: string }).label ?? `set ${(p as { setId: number }).setId}`}`,
    exclusiveKey: (p) => `set:${(p as { setId: number }).setId}`,
    onInterrupted: (db, _job, p, reason) => setPartial(db, (p as { setId: number }).setId, reason),
  },
  train: {
    label: (p) => `Train ${(p as { kind?: string }).kind ?? 'run'} (run ${(p as { runId: number }).runId})`,
    onInterrupted: (db, _job, p, reason) => runInterrupted(db, (p as { runId: number }).runId, reason),
  },
  experiment: {
    label: (p) => ((p as { demo?: boolean }).demo ? 'Offline demo' : 'Experiment'),
    onInterrupted: (db, job, _p, reason) => {
      db.prepare(`UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE job_id = ? AND status IN ('queued','running')`).run(reason, nowIso(), job.id);
      db.prepare(`UPDATE embedding_sets SET status = 'partial', error = ? WHERE status = 'running'`).run(reason);
    },
  },
  probe: { label: (p) => `Try ${(p as { images: unknown[] }).images.length} image(s)` },
  map: { label: (p) => `Map of set ${(p as { setId: number }).setId}` },
};
