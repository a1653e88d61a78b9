/** Schemas shared by several domains of the contract. */
import { z } from 'zod';
import type { MethodDef } from './method';

export const empty = z.object({}).strict();
export const id = z.number().int().positive();
export const split = z.enum(['train', 'test']);
/** Every seed the app takes (runs, experiments, splits, maps): one range, so a seed valid in one place is valid in all. */
export const seed = z.number().int().min(0).max(2 ** 31 - 1);

export const jobStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']);
/** The fields every job has, whatever its kind (the `jobs` table). */
export const jobBase = z.object({
  id: z.string(),
  label: z.string(),
  status: jobStatus,
  phase: z.string(),
  done: z.number(),
  total: z.number(),
  error: z.string().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  /** For a queued job: how many jobs of its class (compute or light) run or wait before it; null otherwise. */
  ahead: z.number().int().min(0).nullable().default(null),
});

/** A job of one kind: its result (null until it is done) has that kind's schema. */
export function jobOf<K extends string, R extends z.ZodType>(kind: K, result: R) {
  return jobBase.extend({ kind: z.literal(kind), result: result.nullable() });
}

export function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O, doc: string): MethodDef<I, O> {
  return { input, output, doc };
}
