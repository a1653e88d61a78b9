/**
 * The Lab API contract: every call's input and output schema and every event's schema.
 * The Electron IPC handlers, the preload whitelist, the web host's routes, the CLI and the renderer's
 * client are all derived from `labApi` and `labEvents`; no channel name is written twice.
 * Imports zod only.
 */
import { z } from 'zod';

/** The error envelope every host returns instead of a stack trace. */
export const errorEnvelope = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelope>;

/** A host's reply to one call. */
export type CallReply<T> = { ok: true; result: T } | { ok: false; error: ErrorEnvelope };

const empty = z.object({}).strict();
export const id = z.number().int().positive();

export const jobStatus = z.enum(['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted']);
export const jobKind = z.enum(['selftest', 'import', 'download', 'embed', 'train', 'experiment', 'backbone-download']);

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

export const info = z.object({
  appVersion: z.string(),
  nodeVersion: z.string(),
  electronVersion: z.string().nullable(),
  host: z.enum(['electron', 'web', 'cli']),
  sqliteVersion: z.string(),
  dbPath: z.string(),
  dataDir: z.string(),
  executionProviders: z.array(z.string()),
  tfBackend: z.string().nullable(),
  gpuName: z.string().nullable(),
  platform: z.string(),
});
export type Info = z.infer<typeof info>;

/** A call: its input schema, its output schema and one line of doc (shown by `dinolab help`). */
export interface MethodDef<I extends z.ZodType, O extends z.ZodType> {
  input: I;
  output: O;
  doc: string;
}
function method<I extends z.ZodType, O extends z.ZodType>(input: I, output: O, doc: string): MethodDef<I, O> {
  return { input, output, doc };
}

export const labApi = {
  info: method(empty, info, 'Versions, database path, execution providers, TensorFlow.js backend, GPU.'),
  'jobs.list': method(
    z.object({ limit: z.number().int().min(1).max(1000).default(100) }).strict(),
    z.array(job),
    'Recent jobs, newest first.',
  ),
  'jobs.get': method(z.object({ id: z.string().min(1) }).strict(), job, 'One job.'),
  'jobs.cancel': method(z.object({ id: z.string().min(1) }).strict(), job, 'Cancel a queued or running job.'),
  'selftest.start': method(
    z
      .object({
        steps: z.number().int().min(1).max(1000).default(10),
        stepMs: z.number().int().min(0).max(60_000).default(300),
        failAt: z.number().int().min(0).optional(),
      })
      .strict(),
    job,
    'Start the self-test job: reports progress `steps` times in the job process, can be cancelled.',
  ),
} as const;

export type LabApi = typeof labApi;
export type MethodName = keyof LabApi;
export type MethodInput<K extends MethodName> = z.input<LabApi[K]['input']>;
export type MethodParsedInput<K extends MethodName> = z.output<LabApi[K]['input']>;
export type MethodOutput<K extends MethodName> = z.output<LabApi[K]['output']>;
export const methodNames = Object.keys(labApi) as MethodName[];

/** Every event pushed from the engine to the UI. */
export const labEvents = {
  'job.progress': z.object({
    jobId: z.string(),
    kind: jobKind,
    phase: z.string(),
    done: z.number(),
    total: z.number(),
    ratePerSec: z.number().nullable(),
    etaSec: z.number().nullable(),
  }),
  'job.started': z.object({ jobId: z.string(), kind: jobKind }),
  'job.finished': z.object({ jobId: z.string(), kind: jobKind, result: z.unknown() }),
  'job.failed': z.object({ jobId: z.string(), kind: jobKind, status: jobStatus, error: z.string() }),
  'training.epoch': z.object({ runId: z.number(), epoch: z.number(), logs: z.record(z.string(), z.number()) }),
} as const;
export type LabEvents = typeof labEvents;
export type EventName = keyof LabEvents;
export type EventPayload<K extends EventName> = z.infer<LabEvents[K]>;
export type LabEvent = { [K in EventName]: { name: K; payload: EventPayload<K> } }[EventName];
export const eventNames = Object.keys(labEvents) as EventName[];

/** The IPC channel of a call (Electron) — the only place channel names are made. */
export const ipcChannel = (name: MethodName): string => `lab:${name}`;
/** The IPC channel events travel on (Electron). */
export const IPC_EVENT_CHANNEL = 'lab:event';
/** The HTTP route of a call (web host). */
export const httpRoute = (name: MethodName): string => `/api/${name}`;

/** Formats a zod error as one readable line: `field: problem; field: problem`. */
export function formatZodError(err: z.ZodError): string {
  return err.issues
    .map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`)
    .join('; ');
}
