/**
 * Which queued jobs may start: at most one 'compute' job (embedding, training) and one 'light' job
 * (import, download, map) run at once, and two jobs whose locks meet (the same dataset's rows) never
 * run together. Within a class the queue is first in, first out: a job that must wait holds back the
 * jobs of its class queued after it, so none is overtaken for ever.
 */
import type { JobResource } from './types';

export interface Slot {
  id: string;
  resource: JobResource;
  locks: readonly string[];
}

export const LIMITS: Readonly<Record<JobResource, number>> = { compute: 1, light: 1 };

/** Two lock keys meet when equal, or when one is `<prefix>*` and the other starts with `<prefix>`. */
export function locksMeet(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.endsWith('*') && b.startsWith(a.slice(0, -1))) return true;
  return b.endsWith('*') && a.startsWith(b.slice(0, -1));
}

function conflicts(a: Slot, b: Slot): boolean {
  return a.locks.some((x) => b.locks.some((y) => locksMeet(x, y)));
}

/** The ids of the queued jobs (in queue order) that start now, given the running ones. */
export function startable(queued: readonly Slot[], running: readonly Slot[], limits = LIMITS): string[] {
  const busy = [...running];
  const held = new Set<JobResource>();
  const out: string[] = [];
  for (const q of queued) {
    if (held.has(q.resource)) continue;
    const n = busy.filter((r) => r.resource === q.resource).length;
    if (n >= limits[q.resource] || busy.some((r) => conflicts(r, q))) {
      held.add(q.resource);
      continue;
    }
    busy.push(q);
    out.push(q.id);
  }
  return out;
}

/** For each queued job, how many jobs of its class run or wait before it. */
export function aheadOf(queued: readonly Slot[], running: readonly Slot[]): Map<string, number> {
  const m = new Map<string, number>();
  const count: Record<JobResource, number> = { compute: 0, light: 0 };
  for (const r of running) count[r.resource]++;
  for (const q of queued) m.set(q.id, count[q.resource]++);
  return m;
}

/** The lock of a dataset's rows; an unknown dataset (a set or run that is gone) locks them all, to be safe. */
export function datasetLock(datasetId: number | null | undefined): string[] {
  return [datasetId === null || datasetId === undefined ? 'dataset:*' : `dataset:${datasetId}`];
}
