import { z } from 'zod';
import { empty, jobOf, method } from './common';

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

/** What the self-test job did. */
export const selftestResult = z.object({ steps: z.number() });

export const systemApi = {
  info: method(empty, info, 'Versions, database path, execution providers, TensorFlow.js backend, GPU.'),
  'selftest.start': method(
    z
      .object({
        steps: z.number().int().min(1).max(1000).default(10),
        stepMs: z.number().int().min(0).max(60_000).default(300),
        failAt: z.number().int().min(0).optional(),
      })
      .strict(),
    jobOf('selftest', selftestResult),
    'Start the self-test job, a check of the job machinery only: it waits `stepMs` `steps` times in a job process, reporting progress after each; can be cancelled. It does not test the engine.',
  ),
  'uploads.put': method(
    z
      .object({
        name: z.string().min(1).max(255),
        /** The file's bytes, base64 (the web host limits a request to 64 MB). */
        dataBase64: z.string().min(1),
      })
      .strict(),
    z.object({ path: z.string(), bytes: z.number() }),
    'Store an uploaded file in the data directory (web host: import from a file picked in the browser).',
  ),
} as const;
