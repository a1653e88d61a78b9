/**
 * A saved model as stored: a small JSON header plus its binary arrays. `toJSON()` of every kind puts its
 * weights (and k-NN its vectors) in `state` as Float32Array / Int32Array; encodeModel replaces each with a
 * placeholder `{ "$array": i, "dtype", "length" }` in the header and hands the arrays out as they are (no
 * copy, never as text), so a model of any size is saved without building a string larger than its header.
 * Models saved before this format (base64 text in JSON) still load: every kind reads either form.
 */
import { LabError } from '../errors';
import type { SavedModel } from './types';

/** The element types a model's arrays may have. */
export type ModelArray = Float32Array | Int32Array;

/** A placeholder for one array in the header. */
interface ArrayRef {
  $array: number;
  dtype: 'float32' | 'int32';
  length: number;
}

/** A model split into its JSON header (UTF-8) and its arrays, in placeholder order. */
export interface EncodedModel {
  header: Buffer;
  arrays: ModelArray[];
}

/** The header's description of each array: its element type and length (what a reader allocates). */
export interface ArraySpec {
  dtype: 'float32' | 'int32';
  length: number;
}

/** Splits a saved model into its header and arrays (the arrays are the model's own, not copies). */
export function encodeModel(saved: SavedModel): EncodedModel {
  const arrays: ModelArray[] = [];
  const text = JSON.stringify(saved, (_key, value: unknown) => {
    if (value instanceof Float32Array || value instanceof Int32Array) {
      const ref: ArrayRef = { $array: arrays.length, dtype: value instanceof Float32Array ? 'float32' : 'int32', length: value.length };
      arrays.push(value);
      return ref;
    }
    if (ArrayBuffer.isView(value)) {
      throw new LabError('bad_model', `A saved model holds a ${value.constructor.name}; only Float32Array and Int32Array are stored.`);
    }
    return value;
  });
  return { header: Buffer.from(text, 'utf8'), arrays };
}

function isArrayRef(v: unknown): v is ArrayRef {
  return typeof v === 'object' && v !== null && typeof (v as ArrayRef).$array === 'number' && typeof (v as ArrayRef).dtype === 'string';
}

/** The arrays a header refers to, in order: what to allocate before reading them. */
export function arraySpecs(header: Buffer): ArraySpec[] {
  const specs: ArraySpec[] = [];
  JSON.parse(header.toString('utf8'), (_key, value: unknown) => {
    if (isArrayRef(value)) specs[value.$array] = { dtype: value.dtype, length: value.length };
    return value;
  });
  return specs;
}

/** Rebuilds a saved model from its header and arrays (in placeholder order); LabError('bad_model') on a mismatch. */
export function decodeModel(header: Buffer, arrays: ModelArray[]): SavedModel {
  return JSON.parse(header.toString('utf8'), (_key, value: unknown) => {
    if (!isArrayRef(value)) return value;
    const a = arrays[value.$array];
    const ok = a && a.length === value.length && (value.dtype === 'float32' ? a instanceof Float32Array : a instanceof Int32Array);
    if (!ok) throw new LabError('bad_model', `The saved model's array ${value.$array} is missing or has the wrong type or length.`);
    return a;
  }) as SavedModel;
}

/** An empty array of a spec's type and length. */
export function allocArray(spec: ArraySpec): ModelArray {
  return spec.dtype === 'float32' ? new Float32Array(spec.length) : new Int32Array(spec.length);
}

/** A saved model through its stored form and back (header text parsed again, arrays copied): for tests and copies. */
export function roundTripModel(saved: SavedModel): SavedModel {
  const enc = encodeModel(saved);
  return decodeModel(Buffer.from(enc.header), enc.arrays.map((a) => a.slice()));
}
