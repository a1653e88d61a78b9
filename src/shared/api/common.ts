/** Schemas shared by several domains of the contract. */
import { z } from 'zod';
import type { MethodDef } from './method';

export const empty = z.object({}).strict();
export const id = z.number().int().positive();
export const split = z.enum(['train', 'test']);

export const jobStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']);
export const jobKind = z.enum(['selftest', 'import', 'download', 'backbone-download', 'embed', 'train', 'experiment', 'probe', 'map']);

/** A job as persisted in the `jobs` table. */
export const job = z.object({
  id: z.string(),
  kind: jobKind,
  label: z.string(),
  status: jobStatus,
  phase: z.string(),
  done: z.number(),
  total: z.number(),
  error: z.string().nullable(),
  result: z.unknown().nullable(),
  createdAt: z.string(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
});
export type Job = z.infer<typeof job>;

export function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O, doc: string): MethodDef<I, O> {
  return { input, output, doc };
}
