/**
 * What `classifiers.kinds` answers: each kind's text, tags, defaults and form fields, read from its params
 * schema (limits from the validators, label and description from `.meta()`), so what the UI and the CLI
 * document can never disagree with what the engine accepts.
 */
import { z } from 'zod';
import type { ClassifierKindInfo, ParamField, ParamFieldType } from '../../shared/contract';
import type { ClassifierSpec } from './spec';
import { defaultParams } from './params-helpers';

/** The part of a spec that describes a kind (create and load are not needed). */
export type DescribedSpec = Pick<ClassifierSpec, 'kind' | 'text' | 'params' | 'tags'>;

type JsonSchema = Record<string, unknown>;

const num = (s: JsonSchema, key: string): number | undefined => {
  const v = s[key];
  // zod writes the safe-integer range as the bounds of every int; that is no limit a person should read.
  return typeof v === 'number' && Math.abs(v) < Number.MAX_SAFE_INTEGER ? v : undefined;
};
const str = (s: JsonSchema, key: string): string | undefined => (typeof s[key] === 'string' ? (s[key] as string) : undefined);

/** min / max / exclusiveMin of a number schema, leaving out the ones it does not have. */
function bounds(s: JsonSchema): Pick<ParamField, 'min' | 'max' | 'exclusiveMin'> {
  const out: Pick<ParamField, 'min' | 'max' | 'exclusiveMin'> = {};
  const min = num(s, 'minimum');
  const max = num(s, 'maximum');
  const exclusiveMin = num(s, 'exclusiveMinimum');
  if (min !== undefined) out.min = min;
  if (max !== undefined) out.max = max;
  if (exclusiveMin !== undefined) out.exclusiveMin = exclusiveMin;
  return out;
}

function isNumberSchema(s: JsonSchema): boolean {
  return s.type === 'number' || s.type === 'integer';
}

/** One field from the JSON Schema of one property; throws for a shape the form cannot edit. */
function fieldOf(kind: string, key: string, s: JsonSchema): ParamField {
  const label = str(s, 'label');
  const description = str(s, 'description');
  if (!label || !description) throw new Error(`${kind}.${key} has no .meta({ label, description }) in its params schema.`);
  const base = { key, label, description };
  const field = (type: ParamFieldType, extra: Partial<ParamField> = {}): ParamField => ({ ...base, type, ...extra });

  if (s.type === 'boolean') return field('boolean');
  if (s.type === 'integer') return field('integer', bounds(s));
  if (s.type === 'number') return field('number', bounds(s));
  if (s.type === 'string' && Array.isArray(s.enum)) return field('select', { options: s.enum as string[] });
  if (s.type === 'array' && s.items && typeof s.items === 'object' && isNumberSchema(s.items as JsonSchema)) {
    const extra: Partial<ParamField> = bounds(s.items as JsonSchema);
    const minItems = num(s, 'minItems');
    const maxItems = num(s, 'maxItems');
    if (minItems !== undefined) extra.minItems = minItems;
    if (maxItems !== undefined) extra.maxItems = maxItems;
    return field('number-list', extra);
  }
  if (Array.isArray(s.anyOf)) {
    const branches = s.anyOf as JsonSchema[];
    const numbers = branches.filter(isNumberSchema);
    const words = branches.map((b) => b.const).filter((c): c is string => typeof c === 'string');
    if (numbers.length === 1 && words.length === branches.length - 1 && words.length > 0) {
      return field('number-or-scale', { ...bounds(numbers[0]!), options: words });
    }
  }
  throw new Error(`${kind}.${key}: the form has no editor for this parameter's schema.`);
}

/** One kind's description. */
export function describeKind(spec: DescribedSpec): ClassifierKindInfo {
  const schema = z.toJSONSchema(spec.params, { io: 'input' }) as JsonSchema;
  const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
  return {
    kind: spec.kind,
    ...spec.text,
    tags: { ...spec.tags },
    defaults: defaultParams(spec) as Record<string, unknown>,
    fields: Object.entries(props).map(([key, s]) => fieldOf(spec.kind, key, s)),
  };
}

/** Every kind's description, in the order of `specs` (the registry's order). */
export function describeKinds(specs: readonly DescribedSpec[]): ClassifierKindInfo[] {
  return specs.map(describeKind);
}
