/** The message to show next to a control when a call failed (the engine's own words when it has some). */
export function errMsg(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** The technical detail the engine kept apart from its sentence (e.g. onnxruntime's own message), if any. */
export function errDetail(err: unknown): string | null {
  const d = (err as { details?: Record<string, unknown> } | null)?.details?.detail;
  return typeof d === 'string' && d ? d : null;
}
