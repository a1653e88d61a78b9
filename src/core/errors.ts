/** Error codes the engine raises; hosts turn a LabError into the `{ code, message, details }` envelope. */
export type LabErrorCode =
  | 'invalid_input'
  | 'not_found'
  | 'conflict'
  | 'corrupt_archive'
  | 'bad_checksum'
  | 'bad_format'
  | 'pickle_refused'
  | 'bad_image'
  | 'bad_model'
  | 'offline'
  | 'download_failed'
  | 'disk_full'
  | 'cancelled'
  | 'db_corrupt'
  | 'job_failed'
  | 'busy'
  | 'unauthorized'
  | 'internal';

/** An error with a code and a message a person can act on. */
export class LabError extends Error {
  constructor(
    readonly code: LabErrorCode,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'LabError';
  }
}

/** Turns any thrown value into a LabError, mapping the few system errors a user can act on. */
export function toLabError(err: unknown): LabError {
  if (err instanceof LabError) return err;
  const e = err as { code?: string; message?: string; name?: string };
  if (e?.code === 'SQLITE_FULL' || e?.code === 'ENOSPC') {
    return new LabError('disk_full', 'The disk (or the database size limit) is full: free some space and try again.');
  }
  if (e?.name === 'AbortError') return new LabError('cancelled', 'Cancelled.');
  return new LabError('internal', e?.message ?? String(err));
}

/** Throws a LabError('cancelled') when the signal has fired. */
export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw new LabError('cancelled', 'Cancelled.');
}
