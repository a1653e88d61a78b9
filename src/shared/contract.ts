/**
 * The Lab API contract: every call's input and output schema and every event's schema, one file per
 * domain under ./api. The Electron IPC handlers, the preload whitelist, the web host's routes, the CLI
 * and the renderer's client are all derived from `labApi` and `labEvents`; no channel name is written
 * twice. Imports zod only.
 */
import { z } from 'zod';
import { backbonesApi } from './api/backbones';
import { classifiersApi } from './api/classifiers';
import { jobStatus } from './api/common';
import { datasetsApi } from './api/datasets';
import { embeddingsApi } from './api/embeddings';
import { jobFinished, jobKind, jobsApi } from './api/jobs';
import { oodApi } from './api/ood';
import { predictApi } from './api/predict';
import { sweepsApi } from './api/sweeps';
import { systemApi } from './api/system';
import { trainingApi } from './api/training';

export * from './api/common';
export type { MethodDef } from './api/method';
export { info, type Info } from './api/system';
export * from './api/datasets';
export * from './api/backbones';
export * from './api/embeddings';
export * from './api/classifiers';
export * from './api/training';
export * from './api/ood';
export * from './api/predict';
export * from './api/sweeps';
export * from './api/jobs';

/** The error envelope every host returns instead of a stack trace. */
export const errorEnvelope = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorEnvelope = z.infer<typeof errorEnvelope>;

/** A host's reply to one call. */
export type CallReply<T> = { ok: true; result: T } | { ok: false; error: ErrorEnvelope };

export const labApi = {
  ...systemApi,
  ...jobsApi,
  ...datasetsApi,
  ...backbonesApi,
  ...embeddingsApi,
  ...classifiersApi,
  ...trainingApi,
  ...predictApi,
  ...oodApi,
  ...sweepsApi,
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
  /** A job was queued, or moved up the queue: `ahead` jobs of its class run or wait before it. */
  'job.queued': z.object({ jobId: z.string(), kind: jobKind, ahead: z.number().int().min(0) }),
  'job.started': z.object({ jobId: z.string(), kind: jobKind }),
  'job.finished': jobFinished,
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
  return err.issues.map((i) => `${i.path.length ? i.path.join('.') : 'input'}: ${i.message}`).join('; ');
}
