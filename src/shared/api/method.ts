import type { z } from 'zod';

/** A call: its input schema, its output schema and one line of doc (shown by `dinolab help`). */
export interface MethodDef<I extends z.ZodType, O extends z.ZodType> {
  input: I;
  output: O;
  doc: string;
}
