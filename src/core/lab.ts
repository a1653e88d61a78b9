/**
 * The engine: implements every call of the contract (src/shared/contract.ts) over one SQLite database
 * and one job manager. Hosts (Electron, web, CLI) only move calls and events; validation happens here,
 * in dispatch(), so every host gets the same checks and the same error envelope.
 */
import fs from 'node:fs';
import { z } from 'zod';
import {
  formatZodError,
  labApi,
  type CallReply,
  type Info,
  type LabEvent,
  type MethodName,
  type MethodOutput,
  type MethodParsedInput,
} from '../shared/contract';
import { openDatabase, type Db } from './db/database';
import { LabError, toLabError } from './errors';
import { collectInfo } from './info';
import { JobManager } from './jobs/manager';
import { jobHooks } from './jobs/hooks';
import { defaultDataDir, resolveDbPath } from './paths';

export interface LabOptions {
  dbPath?: string;
  dataDir?: string;
  host: Info['host'];
}

type Handlers = { [K in MethodName]: (input: MethodParsedInput<K>) => Promise<MethodOutput<K>> | MethodOutput<K> };

export class Lab {
  readonly db: Db;
  readonly dbPath: string;
  readonly dataDir: string;
  readonly jobs: JobManager;
  private readonly listeners = new Set<(ev: LabEvent) => void>();
  private readonly handlers: Handlers;

  constructor(readonly opts: LabOptions) {
    this.dataDir = opts.dataDir ?? defaultDataDir();
    this.dbPath = resolveDbPath(opts.dbPath, this.dataDir);
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.db = openDatabase(this.dbPath);
    this.jobs = new JobManager({
      db: this.db,
      dbPath: this.dbPath,
      dataDir: this.dataDir,
      emit: (ev) => this.emit(ev),
      hooks: jobHooks,
    });
    this.jobs.recover();
    this.handlers = createHandlers(this);
  }

  /** Validates the input with the call's schema, runs it, and wraps the outcome in the envelope. */
  async dispatch(name: string, rawInput: unknown): Promise<CallReply<unknown>> {
    try {
      if (!Object.hasOwn(labApi, name)) throw new LabError('not_found', `Unknown call "${name}".`);
      const key = name as MethodName;
      const parsed = labApi[key].input.safeParse(rawInput ?? {});
      if (!parsed.success) throw new LabError('invalid_input', `Invalid input for ${name}: ${formatZodError(parsed.error)}`);
      const handler = this.handlers[key] as (i: unknown) => unknown;
      const result = await handler(parsed.data);
      return { ok: true, result };
    } catch (err) {
      const e = toLabError(err);
      return { ok: false, error: { code: e.code, message: e.message, ...(e.details ? { details: e.details } : {}) } };
    }
  }

  /** Calls a method and throws a LabError on failure (for the CLI and tests). */
  async call<K extends MethodName>(name: K, input: z.input<(typeof labApi)[K]['input']>): Promise<MethodOutput<K>> {
    const reply = await this.dispatch(name, input);
    if (!reply.ok) throw new LabError(reply.error.code as never, reply.error.message, reply.error.details);
    return reply.result as MethodOutput<K>;
  }

  subscribe(fn: (ev: LabEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(ev: LabEvent): void {
    for (const fn of this.listeners) {
      try {
        fn(ev);
      } catch {
        /* a broken listener must not stop the others */
      }
    }
  }

  async close(): Promise<void> {
    await this.jobs.close();
    this.db.close();
  }
}

function createHandlers(lab: Lab): Handlers {
  return {
    info: () => collectInfo(lab.db, { dbPath: lab.dbPath, dataDir: lab.dataDir, host: lab.opts.host }),
    'jobs.list': (i) => lab.jobs.list(i.limit),
    'jobs.get': (i) => lab.jobs.get(i.id),
    'jobs.cancel': (i) => lab.jobs.cancel(i.id),
    'selftest.start': (i) => lab.jobs.start('selftest', i),
  };
}
