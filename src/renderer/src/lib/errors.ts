/** The message to show next to a control when a call failed (the engine's own words when it has some). */
export function errMsg(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
