/** Turns a classifier kind's paramDocs and defaults into form fields, and the form's text back into params. */
import {
  classifierParamSchemas,
  defaultParams,
  paramDocs,
  type ClassifierKind,
  type ParamDoc,
} from '../../../shared/classifier-params';

/** How a parameter is edited. */
export type FieldType = 'number' | 'boolean' | 'select' | 'number-or-scale' | 'number-list';

export interface ParamField {
  key: string;
  doc: ParamDoc;
  type: FieldType;
  /** The default, as the form shows it. */
  initial: string | boolean;
}

/** What the form holds: text for numbers and lists, booleans for switches. */
export type FormValues = Record<string, string | boolean>;

function fieldType(def: unknown, doc: ParamDoc): FieldType {
  if (typeof def === 'boolean') return 'boolean';
  if (Array.isArray(def)) return 'number-list';
  if (doc.options?.includes('scale')) return 'number-or-scale';
  if (typeof def === 'string') return 'select';
  return 'number';
}

function show(v: unknown): string | boolean {
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ');
  return String(v);
}

/** The fields of a kind, in paramDocs order, with their defaults. */
export function paramFields(kind: ClassifierKind): ParamField[] {
  const defaults = defaultParams(kind) as Record<string, unknown>;
  return Object.entries(paramDocs[kind] as Record<string, ParamDoc>).map(([key, doc]) => ({
    key,
    doc,
    type: fieldType(defaults[key], doc),
    initial: show(defaults[key]),
  }));
}

export function initialValues(fields: ParamField[]): FormValues {
  return Object.fromEntries(fields.map((f) => [f.key, f.initial]));
}

function bounds(x: number, doc: ParamDoc): string | null {
  if (doc.min !== undefined && x < doc.min) return `At least ${doc.min}.`;
  if (doc.max !== undefined && x > doc.max) return `At most ${doc.max}.`;
  return null;
}

/** Parses and checks the form: params to send, or an error per field. */
export function readParams(
  kind: ClassifierKind,
  fields: ParamField[],
  values: FormValues,
): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.key];
    if (f.type === 'boolean') {
      params[f.key] = raw === true;
      continue;
    }
    const text = String(raw ?? '').trim();
    if (f.type === 'select') {
      params[f.key] = text;
    } else if (f.type === 'number-or-scale' && text === 'scale') {
      params[f.key] = 'scale';
    } else if (f.type === 'number-list') {
      const parts = text.split(/[\s,;]+/).filter(Boolean);
      const nums = parts.map(Number);
      const bad = nums.findIndex((n) => !Number.isFinite(n));
      if (!parts.length) errors[f.key] = 'Enter at least one number.';
      else if (bad >= 0) errors[f.key] = `"${parts[bad]}" is not a number.`;
      else {
        const out = nums.map((n) => bounds(n, f.doc)).find((e) => e);
        if (out) errors[f.key] = `Each value: ${out.toLowerCase()}`;
      }
      params[f.key] = nums;
    } else {
      const n = Number(text);
      if (text === '' || !Number.isFinite(n)) errors[f.key] = f.type === 'number-or-scale' ? "A positive number or 'scale'." : 'Enter a number.';
      else {
        const b = bounds(n, f.doc);
        if (b) errors[f.key] = b;
      }
      params[f.key] = n;
    }
  }
  // The contract's own schema catches the rest (whole numbers, positivity).
  const r = classifierParamSchemas[kind].safeParse(params);
  if (!r.success) {
    for (const issue of r.error.issues) {
      const key = String(issue.path[0] ?? '');
      if (key && !errors[key]) errors[key] = /expected int/.test(issue.message) ? 'A whole number.' : issue.message;
    }
  }
  return { params, errors };
}
