/**
 * Maps HTTP statuses and socket errors of the read-only http(s) backend to {@link UpscaleError}s,
 * with the same meaning as for S3: a missing object is `NotFound`, a refusal (401/403) or an
 * untrusted certificate is `AccessDenied` (both permanent), an unreachable or overloaded server
 * (connection refused, timeouts, 408/429/5xx) is `Unavailable` (transient). Messages name the
 * redacted URI only: user info and query strings of the URL never appear.
 */
import { UpscaleError } from '../errors.ts';
import type { HttpLocation } from './location.ts';
import { redactUrlsIn } from './location.ts';
import { NETWORK_CODES } from './storage-errors.ts';

/** Socket and stream codes that mean a connection broke off midway (transient). */
const BROKEN = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNABORTED', 'ERR_SOCKET_CONNECTION_TIMEOUT', 'EPROTO']);

// Node's TLS verification codes: a certificate that is untrusted, expired or for another host.
const CERTIFICATE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ALTNAME|HOSTNAME_MISMATCH/;

/** The error for a final (non-redirect) status other than 2xx, when `doing` (e.g. "reading") `location`. */
export function fromHttpStatus(status: number, doing: string, location: HttpLocation): UpscaleError {
  const subject = location.uri;
  const fail = (code: ConstructorParameters<typeof UpscaleError>[0], what: string): UpscaleError =>
    new UpscaleError(code, `${doing} ${subject}: ${what}`, { subject });
  if (status === 404 || status === 410) return fail('NotFound', `no such object (HTTP ${status})`);
  if (status === 401 || status === 403) {
    return fail('AccessDenied', `the server refused access (HTTP ${status}): check the credentials or the signature of the URL, or whether it has expired`);
  }
  if (status === 408 || status === 429 || status >= 500) return fail('Unavailable', `server unavailable or overloaded (HTTP ${status})`);
  if (status === 416) return fail('InvalidArgument', 'byte range outside the object (HTTP 416)');
  return fail('InvalidInput', `unexpected HTTP status ${status}`);
}

/** The error for a request that got no response (refused, reset, timed out, TLS failure). */
export function fromHttpError(error: unknown, doing: string, location: HttpLocation): UpscaleError {
  if (error instanceof UpscaleError) return error;
  const subject = location.uri;
  const raw = (error as { code?: unknown } | null)?.code;
  const code = typeof raw === 'string' ? raw : '';
  const message = redactUrlsIn(error instanceof Error ? error.message : String(error));
  const cause = Object.assign(new Error(message), code === '' ? {} : { code });
  if ((error as { name?: unknown } | null)?.name === 'AbortError') {
    return new UpscaleError('Cancelled', `${doing} ${subject}: aborted`, { subject, cause });
  }
  if (CERTIFICATE.test(code)) {
    return new UpscaleError(
      'AccessDenied',
      `${doing} ${subject}: the server's TLS certificate was not accepted (${code}); a private CA needs SSL_CERT_FILE`,
      { subject, cause },
    );
  }
  if (NETWORK_CODES.has(code) || BROKEN.has(code)) {
    return new UpscaleError('Unavailable', `${doing} ${subject}: server unreachable (${code}: ${message})`, { subject, cause });
  }
  return new UpscaleError('Unavailable', `${doing} ${subject}: request failed (${code || 'Error'}: ${message})`, { subject, cause });
}
