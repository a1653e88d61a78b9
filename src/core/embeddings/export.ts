import fs from 'node:fs';
import path from 'node:path';
import { csvCell } from '../../shared/csv';
import type { Db } from '../db/database';
import { LabError } from '../errors';
import { writeNpy } from './npy';
import { sampleInfoReader } from '../datasets/queries';
import { loadSetMatrix, setClassesJson } from './queries';

/** Where exportEmbeddings wrote its files, and how many rows. */
export interface ExportResult {
  rows: number;
  dim: number;
  files: { embeddings: string; labels: string; samples: string };
}

/**
 * Writes a set's vectors for use outside DINO Lab: `embeddings.npy` (float32 [N, D]), `labels.npy`
 * (int64 [N]) and `samples.csv` (index,sample_id,split,label,class,source), rows in the same order.
 */
export function exportEmbeddings(db: Db, setId: number, outDir: string): ExportResult {
  const { X, y, sampleIds } = loadSetMatrix(db, setId, 'all');
  if (X.rows === 0) throw new LabError('invalid_input', `Embedding set ${setId} has no vectors yet: run it first.`);
  const classesJson = setClassesJson(db, setId);
  let classes: string[] = [];
  try {
    const parsed = JSON.parse(classesJson) as unknown;
    if (Array.isArray(parsed)) classes = parsed.map(String);
  } catch {
    classes = [];
  }
  fs.mkdirSync(outDir, { recursive: true });
  const files = {
    embeddings: path.join(outDir, 'embeddings.npy'),
    labels: path.join(outDir, 'labels.npy'),
    samples: path.join(outDir, 'samples.csv'),
  };
  fs.writeFileSync(files.embeddings, writeNpy('<f4', [X.rows, X.cols], X.data));
  fs.writeFileSync(files.labels, writeNpy('<i8', [y.length], BigInt64Array.from(y, (v) => BigInt(v))));
  const describe = sampleInfoReader(db);
  const lines = ['index,sample_id,split,label,class,source'];
  for (let i = 0; i < sampleIds.length; i++) {
    const s = describe(sampleIds[i]!);
    if (!s) throw new LabError('db_corrupt', `Sample ${sampleIds[i]} of set ${setId} is missing.`);
    lines.push([String(i), String(sampleIds[i]), csvCell(s.split), String(s.label), csvCell(classes[s.label] ?? ''), csvCell(s.source)].join(','));
  }
  fs.writeFileSync(files.samples, lines.join('\n') + '\n');
  return { rows: X.rows, dim: X.cols, files };
}
