/**
 * Maps S3 SDK and file-system errors to {@link UpscaleError}s: missing objects and rejected
 * credentials are permanent, network trouble, 5xx and throttling are transient. The original error is
 * kept as `cause` only in a sanitised copy (name, message, status, request id), because SDK errors carry
 * request details (access key ids, string-to-sign) that must not reach logs.
 */
import { UpscaleError } from '../errors.ts';
import type { ErrorCode } from '../errors.ts';
import { redactUrlsIn } from './location.ts';
import type { Location, S3Location } from './location.ts';

const NOT_FOUND = new Set(['NoSuchKey', 'NoSuchBucket', 'NotFound', 'NoSuchUpload']);
// XAdminUserNotFound: versitygw answers an unknown access key id with this (404) instead of AWS's
// InvalidAccessKeyId (403), so it must not be read as a missing object.
const CREDENTIALS_REJECTED = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'XAdminUserNotFound',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'InvalidClientTokenId',
]);
const THROTTLED = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'ServiceUnavailable',
  'InternalError',
  'ConditionalRequestConflict', // a concurrent conditional write; a retry will see the winner
]);
/** Node socket error codes that mean the server could not be reached (transient). */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
]);

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $retryable?: unknown;
}

/** A copy of an SDK error that keeps what helps debugging and nothing that could be a credential. */
function sanitised(err: SdkErrorShape, fallbackName: string): Error {
  const name = err.name ?? fallbackName;
  const copy = new Error(redactUrlsIn(err.message ?? name));
  copy.name = name;
  return Object.assign(copy, {
    ...(err.code === undefined ? {} : { code: err.code }),
    ...(err.$metadata?.httpStatusCode === undefined ? {} : { statusCode: err.$metadata.httpStatusCode }),
    ...(err.$metadata?.requestId === undefined ? {} : { requestId: err.$metadata.requestId }),
  });
}

/**
 * Converts an error from the S3 SDK into an UpscaleError for `doing` (e.g. "reading") on `location`.
 * UpscaleErrors pass through unchanged.
 */
export function fromS3Error(error: unknown, doing: string, location: S3Location): UpscaleError {
  if (error instanceof UpscaleError) return error;
  const err = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as SdkErrorShape;
  const name = err.name ?? 'Error';
  const status = err.$metadata?.httpStatusCode;
  const cause = sanitised(err, 'Error');
  const subject = location.uri;
  const fail = (code: ErrorCode, what: string): UpscaleError =>
    new UpscaleError(code, `${doing} ${subject}: ${what}`, { subject, cause });
  const label = status === undefined ? name : `${name}, HTTP ${status}`;

  if (name === 'AbortError') return fail('Cancelled', 'aborted');
  if (name === 'NoSuchBucket') return fail('NotFound', `bucket "${location.bucket}" does not exist (${label})`);
  if (name === 'NoSuchKey' || (status === 404 && !CREDENTIALS_REJECTED.has(name)) || NOT_FOUND.has(name)) {
    return fail('NotFound', `object not found (${label})`);
  }
  if (CREDENTIALS_REJECTED.has(name)) {
    return fail('AccessDenied', `credentials were rejected by the S3 server for bucket "${location.bucket}" (${label})`);
  }
  if (name === 'CredentialsProviderError') {
    return fail('AccessDenied', 'no S3 credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile)');
  }
  if (status === 401 || status === 403 || name === 'AccessDenied') {
    return fail(
      'AccessDenied',
      `access denied to bucket "${location.bucket}": credentials were rejected or lack permission (${label})`,
    );
  }
  if (name === 'PreconditionFailed' || status === 412) {
    return fail('AlreadyExists', 'the object already exists and overwrite was not requested');
  }
  if (
    THROTTLED.has(name) ||
    (status !== undefined && (status >= 500 || status === 429 || status === 409)) ||
    NETWORK_CODES.has(err.code ?? '') ||
    err.$retryable !== undefined
  ) {
    return fail('Unavailable', `S3 server unavailable or overloaded (${label}: ${cause.message})`);
  }
  if (name === 'InvalidRange' || status === 416) return fail('InvalidArgument', `byte range outside the object (${label})`);
  if (name === 'InvalidBucketName') return fail('InvalidArgument', `invalid bucket name "${location.bucket}"`);
  if (status !== undefined && status >= 400) return fail('InvalidArgument', `request rejected (${label}: ${cause.message})`);
  if (/region is missing/i.test(err.message ?? '')) {
    return fail('InvalidArgument', 'no S3 region configured (set AWS_REGION or pass a region)');
  }
  return fail('Internal', `unexpected error (${label}: ${cause.message})`);
}

const FS_CODES: Record<string, [ErrorCode, string]> = {
  ENOENT: ['NotFound', 'no such file or directory'],
  EACCES: ['AccessDenied', 'permission denied'],
  EPERM: ['AccessDenied', 'operation not permitted'],
  EROFS: ['AccessDenied', 'read-only file system'],
  EEXIST: ['AlreadyExists', 'the file already exists and overwrite was not requested'],
  EISDIR: ['InvalidArgument', 'is a directory'],
  ENOTDIR: ['InvalidArgument', 'a parent is not a directory'],
  ENAMETOOLONG: ['InvalidArgument', 'file name too long'],
  ENOSPC: ['Unavailable', 'no space left on device'],
  EDQUOT: ['Unavailable', 'disk quota exceeded'],
  EIO: ['Unavailable', 'I/O error'],
  EMFILE: ['Unavailable', 'too many open files'],
  ENFILE: ['Unavailable', 'too many open files in the system'],
  EBUSY: ['Unavailable', 'resource busy'],
  EAGAIN: ['Unavailable', 'resource temporarily unavailable'],
};

/**
 * True for an error that already carries its own classification (an UpscaleError, or another room's
 * error with a boolean `permanent`, e.g. the media room's): when an upload source (an encoder) fails
 * with one, the upload rethrows it unchanged so its code and exit status survive.
 */
export function isOwnError(error: unknown): error is Error {
  return (
    error instanceof UpscaleError ||
    (error instanceof Error && typeof (error as { permanent?: unknown }).permanent === 'boolean')
  );
}

/** Converts a Node file-system error into an UpscaleError for `doing` on `location`. */
export function fromFsError(error: unknown, doing: string, location: Location): UpscaleError {
  if (error instanceof UpscaleError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const known = typeof code === 'string' ? FS_CODES[code] : undefined;
  const subject = location.uri;
  if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    return new UpscaleError('Cancelled', `${doing} ${subject}: aborted`, { subject, cause: error });
  }
  const [errorCode, what] = known ?? ['Internal', error instanceof Error ? error.message : String(error)];
  return new UpscaleError(errorCode, `${doing} ${subject}: ${what}${known ? ` (${String(code)})` : ''}`, {
    subject,
    cause: error,
  });
}
