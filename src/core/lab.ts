/**
 * The engine: implements every call of the contract (src/shared/contract.ts) over one SQLite database
 * and one job manager. Hosts (Electron, web, CLI) only move calls and events; validation happens here,
 * in dispatch(), so every host gets the same checks and the same error envelope.
 */
import { estimateRun, estimateSetRuns } from './runs/estimate';
import { estimateExperiment } from './experiment/plan';
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import {
  DEFAULT_SWEEP_FRACTIONS,
  formatZodError,
  labApi,
  type CallReply,
  type Info,
  type LabEvent,
  type MethodName,
  type MethodOutput,
  type MethodParsedInput,
} from '../shared/contract';
import { openDatabase, reclaimSpace, type Db } from './db/database';
import { sampleDetail } from './datasets/sample-detail';
import { LabError, toLabError } from './errors';
import { collectInfo } from './info';
import { resolveEntry } from './entry';
import { jobKinds } from './job-kinds';
import { JobManager } from './jobs/manager';
import { addBackboneFile, ensureBuiltinBackbones, getBackbone, listBackbones } from './backbones/registry';
import { CATALOG } from './backbones/catalog';
import { deleteBackbone } from './backbones/queries';
import { deleteDataset, findDatasetByName, getDataset, listDatasets, listSamples, renameDataset } from './datasets/queries';
import { createEmbeddingSet } from './embeddings/pipeline';
import { deleteSet, getSet, listSets } from './embeddings/queries';
import { exportEmbeddings } from './embeddings/export';
import { describeKinds } from './classifiers/describe';
import { allSpecs } from './classifiers/registry';
import { createRun } from './runs/train-run';
import { exportModel } from './export/model-export';
import { WEB_MODEL_FILE, writeWebDemo } from './export/web-demo';
import { attachRunJob, compareRuns, deleteRun, exportRun, getRun, listRuns, markInterruptedRuns, updateRunText } from './runs/queries';
import { buildStudy, runProvenance } from './runs/study';
import { misclassified } from './predict/misclassified';
import { deleteProbe, listProbes } from './predict/queries';
import { getMap } from './map/queries';
import { deleteSweep, insertSweep, getSweepRow, listSweepRows, setSweepJob } from './sweeps/queries';
import { sweepInfo } from './sweeps/sweep';
import { oodCharts, oodScoresCsv, runOodBenchmark } from './ood/benchmark';
import { thumbDataUrl } from './thumbs';
import { modelsDir, resolveWorkspace } from './paths';
import { resolveUserPath, type CallContext } from './user-paths';
import { DEFAULT_UPLOAD_LIMITS, removeUpload, storeUpload, sweepUploads, type UploadDir, type UploadLimits } from './uploads';

export interface LabOptions {
  dbPath?: string;
  dataDir?: string;
  host: Info['host'];
  /** Limits of uploads.put and probe.start's images (defaults: 48 MB each, 1 GB waiting, swept after a day). */
  uploadLimits?: Partial<UploadLimits>;
  /** Time limit of backbones.add's check of a model (in a child process); 120 s by default. */
  backboneCheckTimeoutMs?: number;
}

type Handlers = { [K in MethodName]: (input: MethodParsedInput<K>, ctx: CallContext) => Promise<MethodOutput<K>> | MethodOutput<K> };

export class Lab {
  readonly db: Db;
  readonly dbPath: string;
  readonly dataDir: string;
  readonly jobs: JobManager;
  private readonly listeners = new Set<(ev: LabEvent) => void>();
  private readonly handlers: Handlers;

  constructor(readonly opts: LabOptions) {
    const ws = resolveWorkspace({ dataDir: opts.dataDir, dbPath: opts.dbPath });
    this.dataDir = ws.dataDir;
    this.dbPath = ws.dbPath;
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.db = openDatabase(this.dbPath);
    this.jobs = new JobManager({
      db: this.db,
      dbPath: this.dbPath,
      dataDir: this.dataDir,
      emit: (ev) => this.emit(ev),
      kinds: jobKinds,
      runner: resolveEntry(import.meta.url, 'job-process'),
    });
    this.jobs.recover();
    // Runs left 'running' by a host that died (their job rows are handled by recover()).
    markInterruptedRuns(this.db);
    ensureBuiltinBackbones(this.db, modelsDir(this.dataDir));
    // Uploads a host that died never got to use (those of a running host are younger than this).
    sweepUploads(this.dataDir, opts.uploadLimits?.maxAgeMs ?? DEFAULT_UPLOAD_LIMITS.maxAgeMs);
    this.handlers = createHandlers(this);
  }

  /** Validates the input with the call's schema, runs it, and wraps the outcome in the envelope. */
  async dispatch(name: string, rawInput: unknown, ctx: CallContext = {}): Promise<CallReply<unknown>> {
    try {
      if (!Object.hasOwn(labApi, name)) throw new LabError('not_found', `Unknown call "${name}".`);
      const key = name as MethodName;
      const parsed = labApi[key].input.safeParse(rawInput ?? {});
      if (!parsed.success) throw new LabError('invalid_input', `Invalid input for ${name}: ${formatZodError(parsed.error)}`);
      const handler = this.handlers[key] as (i: unknown, c: CallContext) => unknown;
      const result = await handler(parsed.data, ctx);
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
  const db = lab.db;
  const limits = { ...DEFAULT_UPLOAD_LIMITS, ...lab.opts.uploadLimits };
  const upload = (name: string, dataBase64: string, sub: UploadDir): { path: string; bytes: number } => storeUpload(lab.dataDir, sub, name, dataBase64, limits);
  return {
    info: () => collectInfo(db, { dbPath: lab.dbPath, dataDir: lab.dataDir, host: lab.opts.host }),
    'jobs.list': (i) => lab.jobs.list(i.limit),
    'jobs.get': (i) => lab.jobs.get(i.id),
    'jobs.cancel': (i) => lab.jobs.cancel(i.id),
    'selftest.start': (i) => lab.jobs.start('selftest', i),
    'uploads.put': (i) => upload(i.name, i.dataBase64, 'uploads'),

    'datasets.list': () => listDatasets(db),
    'datasets.get': (i) => getDataset(db, i.id),
    'datasets.import': (i, ctx) => {
      if (i.name && findDatasetByName(db, i.name)) {
        throw new LabError('conflict', `A dataset named '${i.name}' already exists: choose another name.`);
      }
      if (i.source.type !== 'sample') {
        const where = resolveUserPath(i.source.path, ctx, lab.dataDir);
        if (!fs.existsSync(where)) throw new LabError('not_found', `${i.source.path} does not exist.`);
        return lab.jobs.start('import', { ...i, source: { ...i.source, path: where } });
      }
      return lab.jobs.start('import', i);
    },
    'datasets.download': (i) => lab.jobs.start('download', i),
    'datasets.rename': (i) => {
      renameDataset(db, i.id, i.name);
      return getDataset(db, i.id);
    },
    'datasets.delete': (i) => {
      deleteDataset(db, i.id);
      // Its samples and vectors leave the file: the disk space comes back.
      reclaimSpace(db, lab.dbPath, !lab.jobs.busy());
      return { deleted: i.id };
    },
    'samples.list': async (i) => {
      const page = listSamples(db, i);
      const items = [];
      for (const it of page.items) items.push({ ...it, thumb: await thumbDataUrl(db, it.id) });
      return { total: page.total, items };
    },
    'samples.thumb': async (i) => ({ thumb: await thumbDataUrl(db, i.sampleId) }),
    'samples.get': (i) => sampleDetail(db, i.sampleId),

    'backbones.list': () => listBackbones(db),
    'backbones.catalog': () => CATALOG.map((e) => ({ ...e, files: [...e.files] })),
    'backbones.add': (i, ctx) => {
      const file = resolveUserPath(i.file, ctx, lab.dataDir);
      if (!fs.existsSync(file)) throw new LabError('not_found', `${i.file} does not exist.`);
      return addBackboneFile(db, file, i.name, { checkTimeoutMs: lab.opts.backboneCheckTimeoutMs });
    },
    'backbones.download': (i) => lab.jobs.start('backbone-download', i),
    'backbones.delete': (i) => {
      getBackbone(db, i.id);
      deleteBackbone(db, i.id);
      return { deleted: i.id };
    },

    'sets.list': () => listSets(db),
    'sets.get': (i) => getSet(db, i.id),
    'sets.delete': (i) => {
      getSet(db, i.id);
      deleteSet(db, i.id);
      reclaimSpace(db, lab.dbPath, !lab.jobs.busy());
      return { deleted: i.id };
    },
    'embeddings.start': (i) => {
      const setId = createEmbeddingSet(db, { datasetId: i.datasetId, backboneId: i.backboneId, preset: i.preset });
      const set = getSet(db, setId);
      return lab.jobs.start('embed', { setId, provider: i.provider, batchSize: i.batchSize, preprocessing: i.preprocessing, label: `${set.datasetName} with ${set.backboneName}` });
    },
    'embeddings.export': (i, ctx) => exportEmbeddings(db, i.setId, resolveUserPath(i.outDir, ctx, lab.dataDir)),

    'classifiers.kinds': () => describeKinds(allSpecs()),
    'runs.start': (i) => {
      const runId = createRun(db, { setId: i.setId, kind: i.kind, params: i.params, seed: i.seed, maxRows: i.maxRows });
      try {
        const job = lab.jobs.start('train', { runId, kind: i.kind });
        attachRunJob(db, runId, job.id);
        return job;
      } catch (err) {
        deleteRun(db, runId);
        throw err;
      }
    },
    'runs.estimate': (i) => estimateRun(db, i.setId, i.kind, i.maxRows, i.params),
    'runs.estimateAll': (i) => estimateSetRuns(db, i.setId, i.kinds, i.maxRows),
    'runs.list': (i) => listRuns(db, i.setId),
    'runs.get': (i) => {
      const r = getRun(db, i.id);
      return { ...r, provenance: runProvenance(db, r) };
    },
    'runs.study': (i) => buildStudy(db, i.datasetId, { metric: i.metric, includeSweeps: i.includeSweeps }),
    'runs.update': (i) => {
      updateRunText(db, i.id, { name: i.name, notes: i.notes });
      const { metrics: _m, epochs: _e, ...run } = getRun(db, i.id);
      return run;
    },
    'runs.compare': (i) => {
      getSet(db, i.setId);
      return compareRuns(db, i.setId);
    },
    'runs.delete': (i) => {
      getRun(db, i.id);
      deleteRun(db, i.id);
      return { deleted: i.id };
    },
    'runs.misclassified': (i) => misclassified(db, i),
    'runs.export': (i, ctx) => exportRun(db, i.id, resolveUserPath(i.outDir, ctx, lab.dataDir), runProvenance(db, getRun(db, i.id))),
    'runs.exportModel': (i, ctx) => {
      if (i.webDir && i.headOnly) throw new LabError('invalid_input', 'The web demo takes images: it needs the full model, not headOnly.');
      const models = modelsDir(lab.dataDir);
      const webDir = i.webDir ? resolveUserPath(i.webDir, ctx, lab.dataDir) : null;
      // Neither given (the app's button): the data directory's exports folder.
      const out = i.out ? resolveUserPath(i.out, ctx, lab.dataDir) : webDir ? path.join(webDir, WEB_MODEL_FILE) : path.join(lab.dataDir, 'exports', `run-${i.id}.onnx`);
      const r = exportModel(db, i.id, { out, headOnly: i.headOnly, modelsDir: models });
      return { ...r, web: webDir ? writeWebDemo(webDir, r) : null };
    },
    'experiment.start': (i) => {
      if (!i.demo) {
        if (!i.datasetId) throw new LabError('invalid_input', 'datasetId: required unless demo is true.');
        getDataset(db, i.datasetId);
        if (!i.backboneIds.length) throw new LabError('invalid_input', 'backboneIds: choose at least one backbone.');
        for (const b of i.backboneIds) getBackbone(db, b);
      }
      return lab.jobs.start('experiment', i);
    },
    'experiment.estimate': (i) => {
      if (!i.demo) {
        if (!i.datasetId) throw new LabError('invalid_input', 'datasetId: required unless demo is true.');
        getDataset(db, i.datasetId);
        for (const b of i.backboneIds) getBackbone(db, b);
      }
      return estimateExperiment(db, i);
    },

    'probe.start': (i) => {
      const set = getSet(db, i.setId);
      if (set.status !== 'done') throw new LabError('conflict', `Embedding set ${i.setId} is '${set.status}': finish embedding it first.`);
      const images: { name: string; file: string }[] = [];
      try {
        for (const im of i.images) images.push({ name: im.name, file: upload(im.name, im.dataBase64, 'probes').path });
        return lab.jobs.start('probe', { setId: i.setId, images });
      } catch (err) {
        for (const im of images) removeUpload(lab.dataDir, im.file);
        throw err;
      }
    },
    'probes.list': async (i) => {
      const out = [];
      for (const p of listProbes(db, i.setId)) {
        const neighbors = [];
        for (const n of p.results.neighbors) neighbors.push({ ...n, thumb: await thumbDataUrl(db, n.sampleId) });
        out.push({ id: p.id, setId: p.setId, name: p.name, thumb: p.thumb, createdAt: p.createdAt, ood: p.results.ood, neighbors, predictions: p.results.predictions, agree: p.results.agree });
      }
      return out;
    },
    'probes.delete': (i) => {
      deleteProbe(db, i.id);
      return { deleted: i.id };
    },
    'map.start': (i) => {
      getSet(db, i.setId);
      return lab.jobs.start('map', i);
    },
    'map.get': (i) => getMap(db, i.setId),
    'sweeps.start': (i) => {
      const set = getSet(db, i.setId);
      if (set.status !== 'done') throw new LabError('conflict', `Embedding set ${i.setId} is '${set.status}': finish embedding it first.`);
      if (i.fractions && i.perClass) throw new LabError('invalid_input', 'Give fractions or images per class (perClass), not both.');
      const sizes = i.perClass ? { mode: 'per_class', values: [...new Set(i.perClass)].sort((a, b) => a - b) } : { mode: 'fraction', values: [...new Set(i.fractions ?? DEFAULT_SWEEP_FRACTIONS)].sort((a, b) => a - b) };
      const kinds = [...new Set(i.kinds)];
      const sweepId = insertSweep(db, { setId: i.setId, kinds, sizes, repeats: i.repeats, seed: i.seed });
      try {
        const job = lab.jobs.start('sweep', { sweepId });
        setSweepJob(db, sweepId, job.id);
        return job;
      } catch (err) {
        deleteSweep(db, sweepId);
        throw err;
      }
    },
    'sweeps.resume': (i) => {
      const row = getSweepRow(db, i.id);
      if (row.status === 'done') throw new LabError('conflict', `Sweep ${i.id} is done: every run finished.`);
      if (row.status === 'running' || row.status === 'queued') throw new LabError('conflict', `Sweep ${i.id} is ${row.status} (job ${row.job_id}).`);
      const job = lab.jobs.start('sweep', { sweepId: i.id });
      setSweepJob(db, i.id, job.id);
      return job;
    },
    'sweeps.list': (i) => listSweepRows(db, i).map((r) => sweepInfo(db, r.id)),
    'sweeps.get': (i) => sweepInfo(db, i.id),
    'ood.run': async (i, ctx) => {
      const o = await runOodBenchmark(db, i);
      let scoresFile: string | null = null;
      if (i.scoresOut) {
        scoresFile = resolveUserPath(i.scoresOut, ctx, lab.dataDir);
        const csv = oodScoresCsv(o, { inDataset: getSet(db, i.setId).datasetName, outDataset: getSet(db, i.oodSetId).datasetName });
        fs.mkdirSync(path.dirname(scoresFile), { recursive: true });
        fs.writeFileSync(scoresFile, csv);
      }
      return {
        setId: o.setId,
        oodSetId: o.oodSetId,
        inRows: o.inIds.length,
        outRows: o.outIds.length,
        trainRows: o.trainRows,
        seconds: o.seconds,
        scores: o.scores.map((s) => ({ name: s.name, description: s.description, metrics: s.metrics, ...oodCharts(s) })),
        scoresFile,
      };
    },
  };
}
