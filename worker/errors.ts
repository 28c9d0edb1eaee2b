/**
 * The project's error class and exit codes.
 *
 * Every error a user can meet is an {@link UpscaleError}: a stable `code` from a closed set, whether
 * retrying can help (`kind`), the `subject` it concerns (an input/output URI, a model id, a flag), the
 * pipeline `step` when known, and the underlying `cause`. Messages name the subject and the cause, and
 * never contain credentials or presigned URL signatures.
 *
 * Exit codes (read by `upscale` callers, the shard Job's pod failure policy and the operator):
 *   0  success
 *   2  permanent failure: bad input, missing object, rejected credentials, unknown model, existing
 *      output. Retrying the same task cannot help, so the Job fails fast.
 *   3  transient failure: storage unreachable, 5xx, throttling, interrupted. Retrying may help.
 *   anything else (1 from an uncaught exception, 137 from the OOM killer, ...) is treated as transient.
 */

/** Stable codes. Add one only when callers need to branch on it; details belong in the message. */
export const ERROR_CODES = [
  'InvalidArgument', // a flag, task field or option is malformed or inconsistent
  'InvalidInput', // the input data is unusable (not a video, truncated, corrupt manifest)
  'NotFound', // an input object, bucket or file does not exist
  'AccessDenied', // credentials were rejected or lack permission
  'AlreadyExists', // the output exists and overwriting was not asked for
  'Unsupported', // valid but not supported here (URI scheme, codec, container)
  'VerificationFailed', // a produced artefact does not match what was planned (frames, checksum)
  'Unavailable', // a dependency is unreachable or overloaded (network, 5xx, throttling)
  'Cancelled', // the operation was aborted (signal, shutdown)
  'Internal', // a bug or an unclassified failure
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];
export type ErrorKind = 'permanent' | 'transient';

/** Retrying cannot fix these; everything else may succeed on a retry. */
const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['Unavailable', 'Cancelled', 'Internal']);

/** The default kind for a code; a caller may override it when it knows better. */
export function kindOf(code: ErrorCode): ErrorKind {
  return TRANSIENT_CODES.has(code) ? 'transient' : 'permanent';
}

export interface UpscaleErrorOptions {
  /** The object the error concerns: a URI (never presigned), a model id, a flag name. */
  subject?: string;
  /** The pipeline step (`probe`, `shard`, `assemble`, `run`, ...); prefixed to the message. */
  step?: string;
  /** Overrides the code's default kind. */
  kind?: ErrorKind;
  cause?: unknown;
}

/** The project's one error class; `message` is `<step>: <what> <subject>: <cause>` when a step is known. */
export class UpscaleError extends Error {
  override readonly name: string = 'UpscaleError';
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly step: string | undefined;
  readonly subject: string | undefined;

  constructor(code: ErrorCode, message: string, options: UpscaleErrorOptions = {}) {
    super(
      options.step === undefined ? message : `${options.step}: ${message}`,
      options.cause === undefined ? undefined : { cause: options.cause },
    );
    this.code = code;
    this.kind = options.kind ?? kindOf(code);
    this.step = options.step;
    this.subject = options.subject;
  }

  /** True when retrying the same task cannot succeed. */
  get permanent(): boolean {
    return this.kind === 'permanent';
  }
}

/**
 * Returns `error` as an {@link UpscaleError} in `step`: an UpscaleError without a step gets one (same
 * code, kind, subject and cause); anything else becomes `Internal` (transient) with the error as cause.
 */
export function inStep(error: unknown, step: string): UpscaleError {
  if (error instanceof UpscaleError) {
    if (error.step !== undefined) return error;
    const options: UpscaleErrorOptions = { step, kind: error.kind, cause: error.cause };
    if (error.subject !== undefined) options.subject = error.subject;
    return new UpscaleError(error.code, error.message, options);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new UpscaleError('Internal', message, { step, cause: error });
}

export const EXIT_OK = 0;
export const EXIT_PERMANENT = 2;
export const EXIT_TRANSIENT = 3;

/**
 * The process exit code for an error. Errors of other rooms that carry a boolean `permanent`
 * (e.g. the media room's errors) are honoured; unknown errors count as transient.
 */
export function exitCodeFor(error: unknown): number {
  if (error instanceof UpscaleError) return error.permanent ? EXIT_PERMANENT : EXIT_TRANSIENT;
  if (typeof error === 'object' && error !== null && 'permanent' in error && error.permanent === true) {
    return EXIT_PERMANENT;
  }
  return EXIT_TRANSIENT;
}
