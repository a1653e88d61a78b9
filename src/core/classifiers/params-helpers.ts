/** Reading a kind's params through its schema: the defaults, and validation with a readable message. */
import type { z } from 'zod';

/** A params validation failure with a readable message (one line per problem). */
export class ParamsError extends Error {
  constructor(
    readonly kind: string,
    readonly issues: string[],
  ) {
    super(`Invalid ${kind} parameters: ${issues.join('; ')}`);
    this.name = 'ParamsError';
  }
}

/** The documented defaults of a kind (they reproduce the reference study). */
export function defaultParams<P>(spec: { params: z.ZodType<P> }): P {
  return spec.params.parse({});
}

/** Validates params for a kind, filling defaults; throws ParamsError with a readable message. */
export function parseParams<P>(spec: { kind: string; params: z.ZodType<P> }, obj: unknown): P {
  const r = spec.params.safeParse(obj ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => {
    const where = i.path.length ? i.path.join('.') : '(params)';
    return `${where}: ${i.message}`;
  });
  throw new ParamsError(spec.kind, issues);
}
