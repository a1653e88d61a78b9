/**
 * `dinolab`: the command line over the same engine and contract as the UI. Every command accepts
 * --db PATH and --json; tables for people by default.
 */
import { parseArgs } from 'node:util';
import { LabError, toLabError } from '../core/errors';
import { Lab } from '../core/lab';
import { domainCommands } from './commands';
import { followJob, jobExit, type CliIO, type Command, type Ctx } from './context';
import { pairs, table } from './format';

const options = {
  db: { type: 'string' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  port: { type: 'string' },
  host: { type: 'string' },
  'allow-remote': { type: 'boolean' },
  name: { type: 'string' },
  steps: { type: 'string' },
  coarse: { type: 'boolean' },
  'test-fraction': { type: 'string' },
  seed: { type: 'string' },
  'bad-images': { type: 'string' },
  train: { type: 'string' },
  test: { type: 'string' },
  fp16: { type: 'boolean' },
  dataset: { type: 'string' },
  backbone: { type: 'string', multiple: true },
  preset: { type: 'string' },
  ep: { type: 'string' },
  batch: { type: 'string' },
  set: { type: 'string' },
  out: { type: 'string' },
  model: { type: 'string' },
  param: { type: 'string', multiple: true },
  'max-rows': { type: 'string' },
  run: { type: 'string' },
  'head-only': { type: 'boolean' },
  web: { type: 'string' },
  runs: { type: 'string' },
  models: { type: 'string' },
  demo: { type: 'boolean' },
  metric: { type: 'string' },
  all: { type: 'boolean' },
  'ood-set': { type: 'string' },
  'ood-split': { type: 'string' },
  'scores-out': { type: 'string' },
  fractions: { type: 'string' },
  'per-class': { type: 'string' },
  repeats: { type: 'string' },
  resume: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const commands: Record<string, Command> = {
  info: {
    usage: 'dinolab info [--json]',
    doc: 'Versions, database path, execution providers, TensorFlow.js backend, GPU.',
    async run(c) {
      const info = await c.lab().call('info', {});
      c.io.out(c.json ? JSON.stringify(info, null, 2) : pairs(info));
      return 0;
    },
  },
  serve: {
    usage: 'dinolab serve [--port N] [--host ADDR --allow-remote]',
    doc: 'Serve the UI and the API on http://127.0.0.1 (token in the printed URL). Another address needs --allow-remote.',
    async run(c) {
      const { installHostGuards, startServer } = await import('../server/server');
      const { isLoopback } = await import('../server/security');
      const port = c.flags.port ? Number(c.flags.port) : 0;
      if (!Number.isInteger(port) || port < 0 || port > 65535) throw new LabError('invalid_input', `--port must be an integer 0-65535, got ${String(c.flags.port)}.`);
      const host = (c.flags.host as string | undefined) ?? '127.0.0.1';
      const allowRemote = c.flags['allow-remote'] === true;
      const log = (line: string): void => c.io.err(line);
      installHostGuards(log);
      const lab = c.lab('web');
      const srv = await startServer({ lab, host, port, allowRemote, log });
      if (!isLoopback(host)) {
        c.io.err(
          `WARNING: listening on ${host} for other machines (--allow-remote). This is plain HTTP: the token, and everything you do, crosses the network in clear; anyone who can read that traffic can take over this DINO Lab. Paths given from another machine must lie under your home or the data directory.`,
        );
      }
      c.io.out(c.json ? JSON.stringify({ url: srv.url, port: srv.port, host: srv.host }) : `DINO Lab is running at ${srv.url}`);
      await new Promise<void>((resolve) => {
        const stop = (): void => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await srv.close();
      return 0;
    },
  },
  jobs: {
    usage: 'dinolab jobs [--json] | dinolab jobs cancel <id>',
    doc: 'List recent jobs, or cancel one.',
    async run(c) {
      if (c.args[0] === 'cancel') {
        if (!c.args[1]) throw new LabError('invalid_input', 'Usage: dinolab jobs cancel <id>');
        const j = await c.lab().call('jobs.cancel', { id: c.args[1] });
        c.io.out(c.json ? JSON.stringify(j) : `${j.id} ${j.status}`);
        return 0;
      }
      const list = await c.lab().call('jobs.list', { limit: 50 });
      c.io.out(c.json ? JSON.stringify(list, null, 2) : table(list.map((j) => ({ id: j.id.slice(0, 8), kind: j.kind, status: j.status, progress: `${j.done}/${j.total}`, created: j.createdAt, error: j.error }))));
      return 0;
    },
  },
  selftest: {
    usage: 'dinolab selftest [--steps N] [--json]',
    doc: 'Run the self-test job: timed waits in a job process, to check that jobs start, report progress and cancel (Ctrl-C); it does not test the engine.',
    async run(c) {
      const lab = c.lab();
      const job = await lab.call('selftest.start', { steps: c.flags.steps ? Number(c.flags.steps) : 10, stepMs: 100 });
      const end = await followJob(lab, job, c.io, c.json);
      if (c.json) c.io.out(JSON.stringify(end));
      return jobExit(end, c);
    },
  },
};

Object.assign(commands, domainCommands);

function help(io: CliIO): void {
  io.out('dinolab — DINO Lab on the command line. Every command takes --db PATH (or DINOLAB_DB), --data-dir DIR (or DINOLAB_DATA_DIR; default: the folder of --db, else the shared default) and --json.\n');
  for (const cmd of Object.values(commands)) io.out(`  ${cmd.usage}\n      ${cmd.doc}`);
}

/** Runs the CLI; returns the exit code. */
export async function runCli(argv: string[], io: CliIO = { out: (s) => console.log(s), err: (s) => console.error(s) }): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: false });
  } catch (err) {
    io.err((err as Error).message);
    return 2;
  }
  const [name, ...rest] = parsed.positionals;
  if (!name || parsed.values.help || name === 'help') {
    help(io);
    return name || parsed.values.help ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.err(`Unknown command "${name}". Run dinolab help.`);
    return 2;
  }
  let lab: Lab | null = null;
  const ctx: Ctx = {
    args: rest,
    flags: parsed.values as Ctx['flags'],
    json: parsed.values.json === true,
    io,
    lab: (host: 'cli' | 'web' = 'cli') => (lab ??= new Lab({ host, dbPath: parsed.values.db as string | undefined, dataDir: parsed.values['data-dir'] as string | undefined })),
  };
  try {
    return await cmd.run(ctx);
  } catch (err) {
    const e = toLabError(err);
    if (ctx.json) io.err(JSON.stringify({ ok: false, error: { code: e.code, message: e.message } }));
    else io.err(`Error (${e.code}): ${e.message}`);
    return 1;
  } finally {
    await (lab as Lab | null)?.close();
  }
}
