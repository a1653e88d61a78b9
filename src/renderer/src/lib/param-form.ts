/**
 * Turns a classifier kind's description (from `classifiers.kinds`: fields with their types and limits, and
 * the defaults) into form fields, and the form's text back into params, checked against the same limits
 * the engine's schema enforces.
 */
import type { ClassifierKindInfo, ParamField as FieldInfo, ParamFieldType } from '../../../shared/contract';

/** How a parameter is edited. */
export type FieldType = ParamFieldType;

export interface ParamField extends FieldInfo {
  /** The default, as the form shows it. */
  initial: string | boolean;
}

/** What the form holds: text for numbers and lists, booleans for switches. */
export type FormValues = Record<string, string | boolean>;

function show(v: unknown): string | boolean {
  if (typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map((x) => String(x)).join(', ');
  return String(v);
}

/** The fields of a kind, in its schema's order, with their defaults. */
export function paramFields(info: ClassifierKindInfo): ParamField[] {
  return info.fields.map((f) => ({ ...f, initial: show(info.defaults[f.key]) }));
}

export function initialValues(fields: ParamField[]): FormValues {
  return Object.fromEntries(fields.map((f) => [f.key, f.initial]));
}

/** The limits of a field in words, e.g. "min 1, max 8192" (empty when it has none; a list's apply to each value). */
export function limitsHint(f: FieldInfo): string {
  const limits = [
    f.exclusiveMin !== undefined ? `more than ${f.exclusiveMin}` : '',
    f.min !== undefined ? `min ${f.min}` : '',
    f.max !== undefined ? `max ${f.max}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return limits && f.type === 'number-list' ? `each ${limits}` : limits;
}

function bounds(x: number, f: FieldInfo): string | null {
  if (f.min !== undefined && x < f.min) return `At least ${f.min}.`;
  if (f.exclusiveMin !== undefined && x <= f.exclusiveMin) return f.exclusiveMin === 0 ? 'A positive number.' : `More than ${f.exclusiveMin}.`;
  if (f.max !== undefined && x > f.max) return `At most ${f.max}.`;
  return null;
}

function readList(text: string, f: FieldInfo): { value: number[]; error?: string } {
  const parts = text.split(/[\s,;]+/).filter(Boolean);
  const nums = parts.map(Number);
  const bad = nums.findIndex((n) => !Number.isFinite(n));
  if (!parts.length) return { value: nums, error: 'Enter at least one number.' };
  if (bad >= 0) return { value: nums, error: `"${parts[bad]}" is not a number.` };
  const out = nums.map((n) => bounds(n, f)).find((e) => e);
  if (out) return { value: nums, error: `Each value: ${out.toLowerCase()}` };
  if (f.minItems !== undefined && nums.length < f.minItems) return { value: nums, error: `At least ${f.minItems} values.` };
  if (f.maxItems !== undefined && nums.length > f.maxItems) return { value: nums, error: `At most ${f.maxItems} values.` };
  return { value: nums };
}

/** E.g. "A positive number or 'scale'." */
function numberOrWords(f: FieldInfo): string {
  const words = (f.options ?? []).map((o) => `'${String(o)}'`).join(' or ');
  return `${f.exclusiveMin === 0 ? 'A positive number' : 'A number'}${words ? ` or ${words}` : ''}.`;
}

function readNumber(text: string, f: FieldInfo): { value: number; error?: string } {
  const n = Number(text);
  if (text === '' || !Number.isFinite(n)) return { value: n, error: f.type === 'number-or-scale' ? numberOrWords(f) : 'Enter a number.' };
  const b = bounds(n, f);
  if (b) return { value: n, error: b };
  if (f.type === 'integer' && !Number.isInteger(n)) return { value: n, error: 'A whole number.' };
  return { value: n };
}

/** Parses and checks the form: params to send, or an error per field. */
export function readParams(fields: ParamField[], values: FormValues): { params: Record<string, unknown>; errors: Record<string, string> } {
  const params: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.key];
    if (f.type === 'boolean') {
      params[f.key] = raw === true;
      continue;
    }
    const text = String(raw ?? '').trim();
    let read: { value: unknown; error?: string };
    if (f.type === 'select') {
      read = { value: text, ...(f.options?.includes(text) ? {} : { error: `One of ${(f.options ?? []).join(', ')}.` }) };
    } else if (f.type === 'number-or-scale' && f.options?.includes(text)) {
      read = { value: text };
    } else if (f.type === 'number-list') {
      read = readList(text, f);
    } else {
      read = readNumber(text, f);
    }
    params[f.key] = read.value;
    if (read.error) errors[f.key] = read.error;
  }
  return { params, errors };
}
