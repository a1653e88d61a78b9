/** The domain commands of `dinolab`: datasets, backbones, embeddings, training, comparison. */
import fs from 'node:fs';
import path from 'node:path';
import { CLASSIFIER_KINDS, STUDY_METRICS, type ClassifierKind, type ExperimentEstimate, type ProbeResult, type JobKind, type JobOf, type Study, type StudyMetric, type SweepInfo } from '../shared/contract';
import { LabError } from '../core/errors';
import type { Lab } from '../core/lab';
import { approxDuration, fmt, table } from './format';
import { followJob, jobExit, type Command, type Ctx } from './context';

function flag(c: Ctx, name: string): string | undefined {
  const v = c.flags[name];
  if (v === undefined || typeof v === 'boolean') return undefined;
  return Array.isArray(v) ? v[v.length - 1] : v;
}

function intFlag(c: Ctx, name: string, def?: number): number | undefined {
  const v = flag(c, name);
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new LabError('invalid_input', `--${name} must be a number, got "${v}".`);
  return n;
}

/** Resolves a dataset/backbone given by id or by name. */
async function resolveId(lab: Lab, what: 'dataset' | 'backbone', ref: string | undefined): Promise<number> {
  if (!ref) throw new LabError('invalid_input', `--${what} is required (an id or a name).`);
  const list = what === 'dataset' ? await lab.call('datasets.list', {}) : await lab.call('backbones.list', {});
  const hit = list.find((x) => String(x.id) === ref || x.name === ref);
  if (!hit) throw new LabError('not_found', `No ${what} "${ref}". Known: ${list.map((x) => `${x.id} ${x.name}`).join(', ') || 'none'}.`);
  return hit.id;
}

function runJob<K extends JobKind>(c: Ctx, lab: Lab, job: JobOf<K>): Promise<JobOf<K>> {
  return followJob(lab, job, c.io, c.json);
}

function parseParam(raw: string): [string, unknown] {
  const i = raw.indexOf('=');
  if (i <= 0) throw new LabError('invalid_input', `--param takes key=value, got "${raw}".`);
  const key = raw.slice(0, i);
  const text = raw.slice(i + 1);
  let value: unknown = text;
  try {
    value = JSON.parse(text);
  } catch {
    /* a bare string such as gamma=scale */
  }
  return [key, value];
}

/** What an import left out or cannot measure: skipped files (listed) and split warnings, one line each. */
function datasetNotes(d: { skipped: { count: number; files: { path: string; reason: string }[] }; warnings: string[]; id: number }): string[] {
  const out: string[] = [];
  if (d.skipped.count) {
    out.push(`Skipped ${d.skipped.count} file(s) that are not usable images:`);
    for (const f of d.skipped.files) out.push(`  ${f.path}: ${f.reason}`);
    if (d.skipped.count > d.skipped.files.length) out.push(`  … and ${d.skipped.count - d.skipped.files.length} more (dinolab datasets skipped ${d.id}).`);
  }
  for (const w of d.warnings) out.push(`Warning: ${w}`);
  return out;
}

/** The study matrix as text: kinds down, embedding sets across, `value [lo, hi]` per cell, best marks, a legend. */
export function studyText(st: Study): string {
  const pc = (v: number): string => (v * 100).toFixed(1);
  const rows = st.rows.map((r) => {
    const out: Record<string, unknown> = { kind: r.kind };
    st.columns.forEach((col, j) => {
      const c = r.cells[j];
      out[col.label] = c
        ? `${pc(c.value)} [${pc(c.lo)}, ${pc(c.hi)}]${c.best_in_column ? '*' : ''}${c.best_in_row ? '>' : ''}${c.selected_on_test ? ' (selected on test)' : ''}${c.count > 1 ? ` (${c.chosen_by === 'validation' ? 'best by validation' : 'newest'} of ${c.count})` : ''}`
        : '-';
    });
    return out;
  });
  return [
    `Study: ${st.dataset.name}, ${st.metric} on test (%), 95 % ${st.metric === 'accuracy' ? 'Wilson' : 'bootstrap'} interval`,
    table(rows, ['kind', ...st.columns.map((c) => c.label)]),
    "* best in its column, > best in its row (runs selected on test take no part)" + (st.hidden_sweep_runs ? `; ${st.hidden_sweep_runs} label-sweep runs hidden` : ''),
  ].join('\n');
}

/** A sweep as text: per kind and size, labelled images per class, test accuracy and weighted F1 (mean ± std over repeats). */
export function sweepText(sw: SweepInfo): string {
  const pc = (m: { mean: number; std: number }): string => `${(100 * m.mean).toFixed(1)} ± ${(100 * m.std).toFixed(1)}`;
  const rows = sw.points.map((p) => ({
    kind: p.kind,
    [sw.mode === 'fraction' ? 'fraction' : 'per class']: p.size,
    'images/class': Number(p.perClass.toFixed(1)),
    runs: p.runs,
    'accuracy %': pc(p.accuracy),
    'F1 weighted %': pc(p.f1_weighted),
  }));
  const notes = [...new Set(sw.points.flatMap((p) => p.notes))];
  return [
    `Sweep ${sw.id} on set ${sw.setId} (${sw.setLabel}): ${sw.status}, ${sw.done}/${sw.total} runs, ${sw.repeats} repeats from seed ${sw.seed}; test split, mean ± sample std`,
    table(rows),
    ...notes.map((n) => `Note: ${n}`),
  ].join('\n');
}

function metricFlag(c: Ctx): StudyMetric {
  const m = flag(c, 'metric') ?? 'accuracy';
  if (!(STUDY_METRICS as readonly string[]).includes(m)) throw new LabError('invalid_input', `--metric must be one of ${STUDY_METRICS.join(', ')}, got "${m}".`);
  return m as StudyMetric;
}

const METRIC_COLS = ['accuracy', 'precision_weighted', 'recall_weighted', 'f1_weighted', 'precision_macro', 'recall_macro', 'f1_macro'] as const;

/**
 * Tries files through the same probe job as the app's Try page, in batches of 16: a file that cannot be
 * read, or that the probe refuses (it names the file), is reported on its own and the others are asked again.
 */
async function tryFiles(c: Ctx, lab: Lab, setId: number, files: string[]): Promise<({ file: string; probe: ProbeResult } | { file: string; error: string })[]> {
  const results = new Map<string, { file: string; probe: ProbeResult } | { file: string; error: string }>();
  const pending: { file: string; name: string; dataBase64: string }[] = [];
  const seen = new Map<string, number>();
  for (const file of files) {
    try {
      const data = fs.readFileSync(file);
      if (data.length === 0) throw new Error('the file is empty');
      const base = path.basename(file);
      const n = seen.get(base) ?? 0;
      seen.set(base, n + 1);
      pending.push({ file, name: n ? `${n}-${base}` : base, dataBase64: data.toString('base64') });
    } catch (err) {
      results.set(file, { file, error: (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message });
    }
  }
  for (let i = 0; i < pending.length; i += 16) {
    let batch = pending.slice(i, i + 16);
    while (batch.length) {
      const end = await runJob(c, lab, await lab.call('probe.start', { setId, images: batch.map((b) => ({ name: b.name, dataBase64: b.dataBase64 })) }));
      if (end.status === 'done' && end.result) {
        // The job refuses an image it cannot read (named, with the reason) and tries the others: its probe ids
        // are those of the tried images, in order.
        const refused = new Map(end.result.refused.map((r) => [r.name, r.reason]));
        const tried = batch.filter((b) => !refused.has(b.name));
        for (const b of batch) if (refused.has(b.name)) results.set(b.file, { file: b.file, error: refused.get(b.name)! });
        const ids = end.result.probeIds;
        const byId = new Map((await lab.call('probes.list', { setId })).map((p) => [p.id, p]));
        tried.forEach((b, j) => {
          const p = ids[j] === undefined ? undefined : byId.get(ids[j]);
          results.set(b.file, p ? { file: b.file, probe: p } : { file: b.file, error: 'no result was stored' });
        });
        break;
      }
      const msg = end.error ?? `the probe job ended '${end.status}'`;
      const bad = batch.find((b) => msg.startsWith(`${b.name}: `));
      if (!bad) {
        for (const b of batch) results.set(b.file, { file: b.file, error: msg });
        break;
      }
      results.set(bad.file, { file: bad.file, error: msg.slice(bad.name.length + 2) });
      batch = batch.filter((b) => b !== bad);
    }
  }
  return files.map((f) => results.get(f)!);
}

export const domainCommands: Record<string, Command> = {
  import: {
    usage: 'dinolab import cifar <archive-or-folder> [--name N] [--coarse] | import folder <dir> [--name N] [--test-fraction 0.2] [--seed 0] [--bad-images skip|error] | import sample shapes10|shapes-ood [--train N] [--test N]',
    doc: 'Import a dataset (one transaction: a failure leaves nothing behind).',
    async run(c) {
      const [type, arg] = c.args;
      const lab = c.lab();
      const name = flag(c, 'name');
      let job: JobOf<'import'>;
      if (type === 'cifar' && arg) job = await lab.call('datasets.import', { source: { type: 'cifar', path: arg, coarse: c.flags.coarse === true }, name });
      else if (type === 'folder' && arg) {
        const bad = flag(c, 'bad-images');
        if (bad && bad !== 'skip' && bad !== 'error') throw new LabError('invalid_input', '--bad-images must be skip or error.');
        job = await lab.call('datasets.import', {
          source: { type: 'folder', path: arg, testFraction: intFlag(c, 'test-fraction'), seed: intFlag(c, 'seed'), badImages: bad as 'skip' | 'error' | undefined },
          name,
        });
      } else if (type === 'sample' && (arg === 'shapes10' || arg === 'shapes-ood')) {
        job = await lab.call('datasets.import', { source: { type: 'sample', name: arg, train: intFlag(c, 'train'), test: intFlag(c, 'test') }, name });
      } else throw new LabError('invalid_input', `Usage: ${domainCommands.import!.usage}`);
      const end = await runJob(c, lab, job);
      if (end.status === 'done') {
        const ds = end.result ? await lab.call('datasets.get', { id: end.result.datasetId }) : null;
        if (c.json) c.io.out(JSON.stringify(ds ? { ...end.result, skippedFiles: ds.skipped.files, warnings: ds.warnings } : end.result));
        else {
          c.io.out(`Imported: ${fmt(end.result)}`);
          if (ds) for (const line of datasetNotes(ds)) c.io.out(line);
        }
      }
      return jobExit(end, c);
    },
  },
  download: {
    usage: 'dinolab download cifar10|cifar100 [--name N] [--coarse]',
    doc: 'Download CIFAR from the official site (md5-checked, resumable) and import it.',
    async run(c) {
      const which = c.args[0];
      if (which !== 'cifar10' && which !== 'cifar100') throw new LabError('invalid_input', 'Usage: dinolab download cifar10|cifar100');
      const lab = c.lab();
      const end = await runJob(c, lab, await lab.call('datasets.download', { which, coarse: c.flags.coarse === true, name: flag(c, 'name') }));
      if (end.status === 'done') c.io.out(c.json ? JSON.stringify(end.result) : `Imported: ${fmt(end.result)}`);
      return jobExit(end, c);
    },
  },
  datasets: {
    usage: 'dinolab datasets [--json] | datasets rm <id> | datasets rename <id> <name> | datasets skipped <id>',
    doc: 'List datasets (counts per split and class, class names, fingerprint); delete or rename one.',
    async run(c) {
      const lab = c.lab();
      if (c.args[0] === 'rm') {
        const r = await lab.call('datasets.delete', { id: Number(c.args[1]) });
        c.io.out(c.json ? JSON.stringify(r) : `Deleted dataset ${r.deleted}.`);
        return 0;
      }
      if (c.args[0] === 'rename') {
        const r = await lab.call('datasets.rename', { id: Number(c.args[1]), name: c.args.slice(2).join(' ') });
        c.io.out(c.json ? JSON.stringify(r) : `Renamed to ${r.name}.`);
        return 0;
      }
      if (c.args[0] === 'skipped') {
        const d = await lab.call('datasets.get', { id: Number(c.args[1]) });
        if (c.json) c.io.out(JSON.stringify(d.skipped, null, 2));
        else {
          c.io.out(`${d.name}: ${d.skipped.count} file(s) skipped${d.skipped.count > d.skipped.files.length ? ` (the first ${d.skipped.files.length} listed)` : ''}.`);
          for (const f of d.skipped.files) c.io.out(`  ${f.path}: ${f.reason}`);
        }
        return 0;
      }
      const list = await lab.call('datasets.list', {});
      if (c.json) c.io.out(JSON.stringify(list, null, 2));
      else
        c.io.out(
          table(
            list.map((d) => ({ id: d.id, name: d.name, kind: d.kind, train: d.counts.train, test: d.counts.test, classes: d.classes.length, skipped: d.skipped.count, per_class_train: d.perClass.train.join('/'), fingerprint: d.fingerprint?.slice(0, 16) ?? '-' })),
          ),
        );
      if (!c.json) for (const d of list) for (const w of d.warnings) c.io.out(`Warning (${d.name}): ${w}`);
      return 0;
    },
  },
  backbones: {
    usage: 'dinolab backbones [--json] | backbones add <file.onnx> [--name N] | backbones download dinov2-small [--fp16] | backbones rm <id>',
    doc: 'List, add (validated), download (Hugging Face) or remove backbones.',
    async run(c) {
      const lab = c.lab();
      const sub = c.args[0];
      if (sub === 'add') {
        if (!c.args[1]) throw new LabError('invalid_input', 'Usage: dinolab backbones add <file.onnx> [--name N]');
        const b = await lab.call('backbones.add', { file: c.args[1], name: flag(c, 'name') });
        c.io.out(c.json ? JSON.stringify(b) : `Added backbone ${b.id} ${b.name}: ${b.dim} dims, ${b.precision}, output ${b.outputName} (${b.outputKind}).`);
        return 0;
      }
      if (sub === 'download') {
        const model = c.args[1] as 'dinov2-small';
        const end = await runJob(c, lab, await lab.call('backbones.download', { model, precision: c.flags.fp16 === true ? 'float16' : 'float32' }));
        if (end.status === 'done') c.io.out(c.json ? JSON.stringify(end.result) : `Backbone ready: ${fmt(end.result)}`);
        return jobExit(end, c);
      }
      if (sub === 'rm') {
        const r = await lab.call('backbones.delete', { id: Number(c.args[1]) });
        c.io.out(c.json ? JSON.stringify(r) : `Deleted backbone ${r.deleted}.`);
        return 0;
      }
      const list = await lab.call('backbones.list', {});
      c.io.out(c.json ? JSON.stringify(list, null, 2) : table(list.map((b) => ({ id: b.id, name: b.name, kind: b.kind, dim: b.dim, precision: b.precision, mb: b.sizeBytes ? (b.sizeBytes / 1e6).toFixed(1) : '-', sha256: b.sha256?.slice(0, 12) ?? '-' }))));
      return 0;
    },
  },
  embed: {
    usage: 'dinolab embed --dataset D --backbone B [--preset dinov2-eval|resize-224] [--ep auto|cpu|webgpu|cuda] [--batch N] [--preprocessing auto|graph|js] [--json]',
    doc: 'Embed a dataset (resumes an interrupted set); prints the set id. --preprocessing graph resizes and normalises inside the model (images of one size, e.g. CIFAR).',
    async run(c) {
      const lab = c.lab();
      const datasetId = await resolveId(lab, 'dataset', flag(c, 'dataset'));
      const backboneId = await resolveId(lab, 'backbone', flag(c, 'backbone'));
      const preset = (flag(c, 'preset') ?? 'dinov2-eval') as 'dinov2-eval';
      const provider = (flag(c, 'ep') ?? 'auto') as 'auto';
      const preprocessing = (flag(c, 'preprocessing') ?? 'auto') as 'auto';
      const end = await runJob(c, lab, await lab.call('embeddings.start', { datasetId, backboneId, preset, provider, batchSize: intFlag(c, 'batch'), preprocessing }));
      const r = end.result;
      if (end.status === 'done' && r) {
        c.io.out(c.json ? JSON.stringify(r) : `Embedding set ${r.setId}: provider ${r.provider}, batch ${r.batchSize}, ${r.imagesPerSec.toFixed(1)} images/s, preprocessing in ${r.preprocessing === 'graph' ? 'the model graph' : 'JS'}${r.notices.length ? `\n${r.notices.join('\n')}` : ''}`);
      }
      return jobExit(end, c);
    },
  },
  sets: {
    usage: 'dinolab sets [--json] | sets rm <id>',
    doc: 'List embedding sets (provider, batch size, throughput, progress).',
    async run(c) {
      const lab = c.lab();
      if (c.args[0] === 'rm') {
        const r = await lab.call('sets.delete', { id: Number(c.args[1]) });
        c.io.out(c.json ? JSON.stringify(r) : `Deleted set ${r.deleted}.`);
        return 0;
      }
      const list = await lab.call('sets.list', {});
      c.io.out(c.json ? JSON.stringify(list, null, 2) : table(list.map((s) => ({ id: s.id, dataset: s.datasetName, backbone: s.backboneName, preset: s.preset, status: s.status, vectors: `${s.done}/${s.total}`, provider: s.provider, batch: s.batchSize, prep: s.preprocessing ?? '-', 'img/s': s.imagesPerSec, seconds: s.seconds }))));
      return 0;
    },
  },
  'export-embeddings': {
    usage: 'dinolab export-embeddings --set S --out DIR',
    doc: 'Write embeddings.npy, labels.npy and samples.csv.',
    async run(c) {
      const r = await c.lab().call('embeddings.export', { setId: intFlag(c, 'set') ?? 0, outDir: flag(c, 'out') ?? '' });
      c.io.out(c.json ? JSON.stringify(r) : `Wrote ${r.rows} x ${r.dim} to ${Object.values(r.files).join(', ')}`);
      return 0;
    },
  },
  train: {
    usage: 'dinolab train --set S --model mlp|keras|svc|logreg|knn [--param key=value ...] [--seed N] [--max-rows N] [--json]',
    doc: 'Train a classifier on an embedding set; prints the run id and its metrics.',
    async run(c) {
      const lab = c.lab();
      const kind = flag(c, 'model') as ClassifierKind | undefined;
      if (!kind || !CLASSIFIER_KINDS.includes(kind)) throw new LabError('invalid_input', `--model must be one of ${CLASSIFIER_KINDS.join(', ')}.`);
      const raw = c.flags.param;
      const list = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
      const params = Object.fromEntries(list.map(parseParam));
      const setId = intFlag(c, 'set') ?? 0;
      const maxRows = intFlag(c, 'max-rows');
      const est = await lab.call('runs.estimate', { setId, kind, maxRows, params });
      // Before it starts: the estimate (on stderr, so --json output stays one object), and a warning past 30 min.
      c.io.err(est.seconds === null ? est.basis : `Estimated ${approxDuration(est.seconds)} on ${est.trainRows} training rows. ${est.basis}`);
      if (est.warning) c.io.err(`Warning: ${est.warning}`);
      const end = await runJob(c, lab, await lab.call('runs.start', { setId, kind, params, seed: intFlag(c, 'seed', 0), maxRows }));
      const r = end.result;
      if (end.status === 'done' && r) {
        if (c.json) c.io.out(JSON.stringify(r));
        else {
          c.io.out(`Run ${r.runId} (${kind}, backend ${r.backend}, fit ${r.fitSeconds.toFixed(2)} s, ${r.trainRows} training rows; train metrics on ${r.trainMetricRows})`);
          c.io.out(table(['train', 'test'].map((split) => ({ split, ...Object.fromEntries(METRIC_COLS.map((k) => [k, (split === 'train' ? r.train : r.test)?.[k] ?? null])) }))));
        }
      }
      return jobExit(end, c);
    },
  },
  runs: {
    usage: 'dinolab runs [--set S] [--json] | runs show R [--json] | runs rename R <name> | runs notes R <text>',
    doc: 'List runs; show one run with its provenance and the `dinolab train` line that reproduces it; name a run or set its notes.',
    async run(c) {
      const lab = c.lab();
      const sub = c.args[0];
      if (sub === 'show' || sub === 'rename' || sub === 'notes') {
        const id = Number(c.args[1]);
        if (!Number.isInteger(id) || id < 1) throw new LabError('invalid_input', `Usage: ${domainCommands.runs!.usage}`);
        if (sub !== 'show') {
          const text = c.args.slice(2).join(' ');
          const r = await lab.call('runs.update', sub === 'rename' ? { id, name: text } : { id, notes: text });
          c.io.out(c.json ? JSON.stringify(r) : `Run ${r.id}: name ${r.name ?? '-'}, notes ${r.notes ?? '-'}`);
          return 0;
        }
        const r = await lab.call('runs.get', { id });
        const { epochs: _e, metrics, provenance, ...run } = r;
        const strip = (m: typeof metrics.test): Record<string, number> | null => (m ? Object.fromEntries(METRIC_COLS.map((k) => [k, m[k]])) : null);
        const out = { run, provenance, command: provenance.command, metrics: { train: strip(metrics.train), test: strip(metrics.test) } };
        if (c.json) c.io.out(JSON.stringify(out, null, 2));
        else {
          c.io.out(`Run ${r.id}${r.name ? ` "${r.name}"` : ''}: ${r.kind} on set ${r.set_id} (${provenance.dataset.name}, ${provenance.backbone.name}, ${provenance.embedding_set.preset}), ${r.status}`);
          c.io.out(`backend ${r.backend ?? '-'}, seed ${r.seed}, app ${provenance.app_version ?? '-'}, ${provenance.started_at ?? '-'} .. ${provenance.finished_at ?? '-'}`);
          c.io.out(`reproduce: ${provenance.command}`);
          c.io.out(table(['train', 'test'].map((split) => ({ split, ...(strip(split === 'train' ? metrics.train : metrics.test) ?? {}) }))));
        }
        return 0;
      }
      const list = await lab.call('runs.list', { setId: intFlag(c, 'set') });
      c.io.out(c.json ? JSON.stringify(list, null, 2) : table(list.map((r) => ({ id: r.id, set: r.set_id, kind: r.kind, name: r.name, status: r.status, seed: r.seed, backend: r.backend, fit_s: r.fit_seconds, error: r.error }))));
      return 0;
    },
  },
  compare: {
    usage: 'dinolab compare --dataset D [--metric accuracy|f1_weighted|f1_macro|...] [--all] [--json] | compare --set S [--json]',
    doc: 'The study matrix of a dataset (kinds x embedding sets, test metric with a 95 % interval; --json: every run with provenance), or one row per run of a set.',
    async run(c) {
      const lab = c.lab();
      if (flag(c, 'dataset') !== undefined) {
        const datasetId = await resolveId(lab, 'dataset', flag(c, 'dataset'));
        const st = await lab.call('runs.study', { datasetId, metric: metricFlag(c), includeSweeps: c.flags.all === true });
        c.io.out(c.json ? JSON.stringify(st, null, 2) : studyText(st));
        return 0;
      }
      const rows = await lab.call('runs.compare', { setId: intFlag(c, 'set') ?? 0 });
      if (c.json) c.io.out(JSON.stringify(rows, null, 2));
      else c.io.out(table(rows.map((r) => ({ id: r.id, kind: r.kind, status: r.status, test_acc: r.test_accuracy, test_f1_w: r.test_f1_weighted, test_f1_m: r.test_f1_macro, train_acc: r.train_accuracy, fit_s: r.fit_seconds, 'pred_rows/s': r.predict_rows_per_sec, backend: r.backend }))));
      return 0;
    },
  },
  'export-run': {
    usage: 'dinolab export-run --run R --out DIR',
    doc: 'Write metrics.json and predictions.csv of a run.',
    async run(c) {
      const r = await c.lab().call('runs.export', { id: intFlag(c, 'run') ?? 0, outDir: flag(c, 'out') ?? '' });
      c.io.out(c.json ? JSON.stringify(r) : `Wrote ${r.metricsFile} and ${r.predictionsFile} (${r.rows} rows).`);
      return 0;
    },
  },
  'export-model': {
    usage: 'dinolab export-model --run R --out model.onnx [--head-only] [--web DIR] [--json]',
    doc: 'Export a finished run as one ONNX model (image in, label and probabilities out; --head-only: embedding in), or a web demo folder (--web).',
    async run(c) {
      const webDir = flag(c, 'web');
      const r = await c.lab().call('runs.exportModel', { id: intFlag(c, 'run') ?? 0, out: flag(c, 'out'), headOnly: c.flags['head-only'] === true, webDir });
      if (c.json) {
        c.io.out(JSON.stringify(r));
        return 0;
      }
      const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
      c.io.out(`Wrote ${r.file} (${mb(r.bytes)}, ${r.seconds.toFixed(1)} s): ${r.kind}, input ${r.input.name} ${r.input.type} [${r.input.shape.join(', ')}], outputs ${r.outputs.join(', ')}.`);
      for (const f of r.extraFiles) c.io.out(`  weights: ${f}`);
      for (const n of r.notes) c.io.err(`Note: ${n}`);
      if (r.web) c.io.out(`Web demo: ${r.web.index} (serve ${r.web.dir} with any static file server; it runs offline).`);
      return 0;
    },
  },
  try: {
    usage: 'dinolab try --set S FILE... [--runs R1,R2] [--json]',
    doc: "The Try page on the command line: per file, each run's top 3, agreement, the nearest training images and the OOD score.",
    async run(c) {
      const lab = c.lab();
      const setId = intFlag(c, 'set') ?? 0;
      if (!c.args.length) throw new LabError('invalid_input', 'Name at least one image file: dinolab try --set S FILE...');
      const set = await lab.call('sets.get', { id: setId });
      const classes = (await lab.call('datasets.get', { id: set.datasetId })).classes;
      const runsFlag = flag(c, 'runs');
      const only = runsFlag ? new Set(runsFlag.split(',').map((s) => Number(s.trim()))) : null;
      if (only && [...only].some((n) => !Number.isInteger(n) || n <= 0)) throw new LabError('invalid_input', `--runs takes run ids separated by commas, got "${runsFlag}".`);
      const results = await tryFiles(c, lab, setId, c.args);
      const label = (i: number): string => classes[i] ?? String(i);
      const out = results.map((r) =>
        'error' in r
          ? r
          : {
              file: r.file,
              predictions: r.probe.predictions
                .filter((p) => !only || only.has(p.runId))
                .map((p) => ({ runId: p.runId, kind: p.kind, top: p.top.map((t) => ({ label: t.label, class: label(t.label), prob: t.prob })) })),
              agree: r.probe.agree,
              ood: r.probe.ood,
              neighbors: r.probe.neighbors.map((n) => ({ sampleId: n.sampleId, label: n.label, class: label(n.label), similarity: n.similarity })),
            },
      );
      if (c.json) c.io.out(JSON.stringify(out, null, 2));
      else {
        for (const r of out) {
          if ('error' in r) {
            c.io.out(`${r.file}: error: ${r.error}`);
            continue;
          }
          c.io.out(`${r.file}: ${r.agree ? 'the runs agree' : 'the runs disagree'}; OOD similarity ${r.ood.similarity.toFixed(3)} (percentile ${(100 * r.ood.percentile).toFixed(0)}${r.ood.unusual ? ', unusual' : ''})`);
          for (const p of r.predictions) c.io.out(`  run ${p.runId} ${p.kind}: ${p.top.map((t) => `${t.class} ${(100 * t.prob).toFixed(1)}%`).join(', ')}`);
          c.io.out(`  nearest training images: ${r.neighbors.slice(0, 5).map((n) => `#${n.sampleId} ${n.class} (${n.similarity.toFixed(3)})`).join(', ')}`);
        }
      }
      return out.some((r) => 'error' in r) ? 1 : 0;
    },
  },
  sweep: {
    usage: 'dinolab sweep --set S [--models logreg,knn,mlp] [--fractions 0.01,0.02,0.05,0.1,0.25,0.5,1 | --per-class 1,2,5,10] [--repeats 3] [--seed 0] [--json] | dinolab sweep --resume ID | dinolab sweeps [--set S]',
    doc: 'Label efficiency: each kind on seeded stratified subsets x repeats (one job, cancellable, resumable); mean and std of test accuracy and weighted F1 per kind and size.',
    async run(c) {
      const lab = c.lab();
      const nums = (name: string): number[] | undefined => {
        const v = flag(c, name);
        if (v === undefined) return undefined;
        const a = v.split(',').map((x) => Number(x.trim()));
        if (a.some((x) => !Number.isFinite(x))) throw new LabError('invalid_input', `--${name} takes numbers separated by commas, got "${v}".`);
        return a;
      };
      const resume = intFlag(c, 'resume');
      const models = flag(c, 'models');
      const kinds = models ? (models === 'all' ? [...CLASSIFIER_KINDS] : models.split(',').map((m) => m.trim())) : undefined;
      if (kinds?.some((k) => !(CLASSIFIER_KINDS as readonly string[]).includes(k))) throw new LabError('invalid_input', `--models takes ${CLASSIFIER_KINDS.join(', ')} (or all), got "${models}".`);
      const job =
        resume !== undefined
          ? await lab.call('sweeps.resume', { id: resume })
          : await lab.call('sweeps.start', {
              setId: intFlag(c, 'set') ?? 0,
              kinds: kinds as ClassifierKind[] | undefined,
              fractions: nums('fractions'),
              perClass: nums('per-class'),
              repeats: intFlag(c, 'repeats'),
              seed: intFlag(c, 'seed'),
            });
      const end = await runJob(c, lab, job);
      const r = end.result;
      if (end.status !== 'done' || !r) {
        const code = jobExit(end, c);
        const sw = (await lab.call('sweeps.list', {})).find((x) => x.jobId === end.id);
        if (sw) c.io.err(`Sweep ${sw.id}: ${sw.done}/${sw.total} runs kept; resume with: dinolab sweep --resume ${sw.id}`);
        return code;
      }
      const info = await lab.call('sweeps.get', { id: r.sweepId });
      if (c.json) c.io.out(JSON.stringify(info, null, 2));
      else c.io.out(sweepText(info));
      return r.failed ? 1 : 0;
    },
  },
  sweeps: {
    usage: 'dinolab sweeps [--set S] [--dataset D] [--json]',
    doc: 'Label sweeps with their per-size results.',
    async run(c) {
      const lab = c.lab();
      const d = flag(c, 'dataset');
      const list = await lab.call('sweeps.list', { setId: intFlag(c, 'set'), datasetId: d ? await resolveId(lab, 'dataset', d) : undefined });
      if (c.json) c.io.out(JSON.stringify(list, null, 2));
      else c.io.out(list.length ? list.map(sweepText).join('\n\n') : '(no sweeps)');
      return 0;
    },
  },
  ood: {
    usage: 'dinolab ood --set S --ood-set T [--runs R1,R2] [--ood-split test|train|all] [--scores-out FILE.csv] [--json]',
    doc: "Out-of-distribution benchmark: S's test split (in) vs T's samples (out), same backbone and preset; AUROC, AUPR in/out, FPR@95 per score.",
    async run(c) {
      const runsFlag = flag(c, 'runs');
      const runIds = runsFlag ? runsFlag.split(',').map((s) => Number(s.trim())) : undefined;
      if (runIds?.some((n) => !Number.isInteger(n) || n <= 0)) throw new LabError('invalid_input', `--runs takes run ids separated by commas, got "${runsFlag}".`);
      const split = flag(c, 'ood-split') ?? 'test';
      if (split !== 'test' && split !== 'train' && split !== 'all') throw new LabError('invalid_input', `--ood-split must be test, train or all, got "${split}".`);
      const r = await c.lab().call('ood.run', { setId: intFlag(c, 'set') ?? 0, oodSetId: intFlag(c, 'ood-set') ?? 0, runIds, oodSplit: split, scoresOut: flag(c, 'scores-out') });
      if (c.json) {
        c.io.out(JSON.stringify({ ...r, scores: r.scores.map((s) => ({ name: s.name, description: s.description, metrics: s.metrics })) }, null, 2));
        return 0;
      }
      c.io.out(`OOD benchmark: set ${r.setId} test (${r.inRows} in) vs set ${r.oodSetId} (${r.outRows} out), ${r.trainRows} training rows, ${r.seconds.toFixed(1)} s`);
      const f = (v: number): string => v.toFixed(4);
      c.io.out(table(r.scores.map((s) => ({ score: s.name, AUROC: f(s.metrics.auroc), 'AUPR-in': f(s.metrics.aupr_in), 'AUPR-out': f(s.metrics.aupr_out), 'FPR@95': f(s.metrics.fpr_at_95_tpr) })), ['score', 'AUROC', 'AUPR-in', 'AUPR-out', 'FPR@95']));
      for (const s of r.scores) c.io.out(`  ${s.name}: ${s.description}`);
      if (r.scoresFile) c.io.out(`Scores: ${r.scoresFile}`);
      return 0;
    },
  },
  experiment: {
    usage: 'dinolab experiment --dataset D --backbone B [--backbone B2] [--preset P] [--ep E] [--models all|mlp,svc,...] [--seed N] [--max-rows N] [--metric M] | dinolab experiment --demo',
    doc: 'The whole study headless: embed (or reuse), train every kind, print the study matrix of the dataset. Prints its estimated duration first (--max-rows N caps every run\'s training rows).',
    async run(c) {
      const lab = c.lab();
      const demo = c.flags.demo === true;
      const models = flag(c, 'models');
      const kinds = !models || models === 'all' ? [...CLASSIFIER_KINDS] : (models.split(',') as ClassifierKind[]);
      const raw = c.flags.backbone;
      const refs = raw === undefined ? [] : Array.isArray(raw) ? raw : [String(raw)];
      const backboneIds = demo ? [] : await Promise.all(refs.map((r) => resolveId(lab, 'backbone', r)));
      const datasetId = demo ? undefined : await resolveId(lab, 'dataset', flag(c, 'dataset'));
      const input = {
        demo,
        datasetId,
        backboneIds,
        kinds,
        preset: (flag(c, 'preset') ?? (demo ? 'resize-224' : 'dinov2-eval')) as 'resize-224',
        provider: (flag(c, 'ep') ?? 'auto') as 'auto',
        seed: intFlag(c, 'seed', 0),
        maxRows: intFlag(c, 'max-rows'),
      };
      // Before it starts: the sum of its runs' estimates (on stderr, so --json output stays one object).
      c.io.err(experimentEstimateText(await lab.call('experiment.estimate', input)));
      const end = await runJob(c, lab, await lab.call('experiment.start', input));
      const r = end.result;
      if (end.status !== 'done' || !r) return jobExit(end, c);
      const st = await lab.call('runs.study', { datasetId: r.datasetId, metric: metricFlag(c) });
      if (c.json) c.io.out(JSON.stringify({ ...r, study: st }, null, 2));
      else c.io.out(studyText(st));
      return 0;
    },
  },
};

/** An experiment's estimate in lines: the total, each run, what it leaves out, the warning. */
export function experimentEstimateText(e: ExperimentEstimate): string {
  const lines = [
    e.seconds !== null
      ? `Estimated ${approxDuration(e.seconds)} for ${e.runs.length} run${e.runs.length === 1 ? '' : 's'}.`
      : `Estimated at least ${approxDuration(e.knownSeconds)}: no estimate for ${e.unknownKinds.join(', ')}.`,
    ...e.runs.map((r) => `  ${r.kind} on ${r.set}, ${r.trainRows} training rows: ${r.seconds === null ? 'no estimate' : approxDuration(r.seconds)}${r.reference ? ' (reference rate: no run of this kind here yet)' : ''}`),
    ...e.notes,
  ];
  if (e.warning) lines.push(`Warning: ${e.warning}`);
  return lines.join('\n');
}
