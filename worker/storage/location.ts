/**
 * Parses the locations users and tasks give us: local paths, `file://` URIs, `s3://bucket/key` URIs
 * and read-only `https://` URLs. Everything in `worker/storage` works on parsed {@link Location}s;
 * `uri` is the canonical spelling used in messages (an absolute path for local files,
 * `s3://bucket/key` for S3, the URL without user info and query for http(s)).
 *
 * Plain `http://` is accepted only for loopback hosts (`localhost`, 127.0.0.0/8, `[::1]`): it is
 * what tests and a node-local proxy use, while a remote server over plain http would expose the
 * input, and any credentials in its URL, to the network. Redirects are held to the same rule.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UpscaleError } from '../errors.ts';
import { REDACTED_QUERY, redactUrl } from '../redact.ts';

export interface FileLocation {
  kind: 'file';
  /** Absolute path; keeps a trailing `/` when the input had one (a directory prefix). */
  path: string;
  uri: string;
}

export interface S3Location {
  kind: 's3';
  bucket: string;
  /** The object key or key prefix; empty for the bucket root. Not percent-decoded, as in the AWS CLI. */
  key: string;
  uri: string;
}

/** A read-only input on a web server (`https://`, or `http://` on loopback). */
export interface HttpLocation {
  kind: 'http';
  /** The URL, normalised (WHATWG `href`), user info and query included: what requests go to. Never log it. */
  url: string;
  /** The URL without user info, query or fragment (`?<redacted>` marks a dropped query): safe to log. */
  uri: string;
}

export type Location = FileLocation | S3Location | HttpLocation;

const SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//;
// Loose on purpose: S3-compatible servers differ (legacy AWS buckets allow capitals and `_`); the
// server rejects what it does not accept with InvalidBucketName, which maps to a permanent error.
const BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$/;

/**
 * Parses a local path, `file://` URI or `s3://bucket/key` URI. Relative paths resolve against the
 * working directory. Throws a permanent `InvalidArgument`/`Unsupported` UpscaleError naming the input.
 */
export function parseLocation(input: string): Location {
  if (input.length === 0) {
    throw new UpscaleError('InvalidArgument', 'empty storage location', { subject: input });
  }
  const scheme = SCHEME.exec(input)?.[1]?.toLowerCase();
  if (scheme === undefined) return fileLocation(input);
  if (scheme === 'file') {
    let filePath: string;
    try {
      filePath = fileURLToPath(input);
    } catch (cause) {
      throw new UpscaleError('InvalidArgument', `invalid file URI ${input}: ${(cause as Error).message}`, {
        subject: input,
        cause,
      });
    }
    return fileLocation(input.endsWith('/') && !filePath.endsWith('/') ? `${filePath}/` : filePath);
  }
  if (scheme === 's3') {
    const rest = input.slice('s3://'.length);
    const slash = rest.indexOf('/');
    const bucket = slash === -1 ? rest : rest.slice(0, slash);
    const key = slash === -1 ? '' : rest.slice(slash + 1);
    if (!BUCKET.test(bucket)) {
      throw new UpscaleError('InvalidArgument', `invalid S3 bucket name "${bucket}" in ${input}`, {
        subject: input,
      });
    }
    const badKey = unsafeKeyReason(key);
    if (badKey !== undefined) {
      throw new UpscaleError('InvalidArgument', `invalid S3 key "${key}" in ${input}: ${badKey}`, { subject: input });
    }
    return { kind: 's3', bucket, key, uri: `s3://${bucket}/${key}` };
  }
  if (scheme === 'https' || scheme === 'http') return httpLocation(input);
  throw new UpscaleError(
    'Unsupported',
    `unsupported storage location ${redactUrl(input)}: use a local path, file://, s3://bucket/key or https://`,
    { subject: redactUrl(input) },
  );
}

/**
 * Why an S3 key is refused, or undefined. S3 stores `a/../b` as a literal key, but HTTP clients,
 * proxies and path-style endpoints normalise dot segments in the request path, so such a key can
 * name an object outside its prefix, or in another bucket; a leading `/` (`s3://b//key`) is a
 * different key from the one people read. Control characters cannot be typed or logged safely.
 */
export function unsafeKeyReason(key: string): string | undefined {
  if (key.startsWith('/')) return 'a key may not start with "/"';
  if (key.split('/').some((segment) => segment === '.' || segment === '..')) return 'a key may not contain "." or ".." path segments';
  if (/[\u0000-\u001f\u007f]/.test(key)) return 'a key may not contain control characters';
  return undefined;
}

/**
 * Parses an http(s) URL into a location, or throws a permanent error naming it (redacted): not a
 * valid URL, no host, or plain http to a host that is not loopback. Also checks redirect targets.
 */
export function httpLocation(url: string): HttpLocation {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UpscaleError('InvalidArgument', `invalid URL ${redactUrl(url)}`, { subject: redactUrl(url) });
  }
  // From the parsed URL, so the name shows the host requests really go to (`\` and `@` tricks aside).
  const uri = `${parsed.protocol}//${parsed.host}${parsed.pathname}${parsed.search === '' && parsed.hash === '' ? '' : REDACTED_QUERY}`;
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new UpscaleError('Unsupported', `unsupported URL scheme in ${uri}: only https:// (and http:// on loopback) is read`, { subject: uri });
  }
  if (parsed.hostname === '') throw new UpscaleError('InvalidArgument', `invalid URL ${uri}: no host`, { subject: uri });
  if (parsed.protocol === 'http:' && !isLoopbackHost(parsed.hostname)) {
    throw new UpscaleError('Unsupported', `refusing plain http:// for ${uri}: use https:// (plain http is accepted only for loopback hosts)`, {
      subject: uri,
    });
  }
  // `href`, not the text given: ffmpeg splits URLs its own way (`https://a\@b/` is host b to it, a
  // to WHATWG), so both readers get the normalised form and reach the host that was checked.
  return { kind: 'http', url: parsed.href, uri };
}

/** True for `localhost` (and `*.localhost`), 127.0.0.0/8 and `[::1]`: names that never leave the machine. */
export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return host === 'localhost' || host.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(host) || host === '[::1]';
}

function fileLocation(input: string): FileLocation {
  const resolved = path.resolve(input);
  const withSlash = input.endsWith('/') && !resolved.endsWith('/') ? `${resolved}/` : resolved;
  return { kind: 'file', path: withSlash, uri: withSlash };
}

/** True for an object location (an S3 key or file path that does not end in `/`; any http(s) URL). */
export function isObjectLocation(location: Location): boolean {
  if (location.kind === 'http') return true;
  return location.kind === 's3' ? location.key.length > 0 && !location.key.endsWith('/') : !location.path.endsWith('/');
}

/** Throws a permanent error unless `location` names an object rather than a prefix or bucket root. */
export function requireObject(location: Location, doing: string): void {
  if (!isObjectLocation(location)) {
    throw new UpscaleError('InvalidArgument', `${doing} ${location.uri}: expected an object, not a prefix`, {
      subject: location.uri,
    });
  }
}

/**
 * Throws a permanent `Unsupported` error naming the URI when `location` is an http(s) URL, which is
 * read-only: outputs and intermediates go to local paths or S3.
 */
export function requireWritable(location: Location, doing: string): asserts location is FileLocation | S3Location {
  if (location.kind === 'http') throw readOnlyError(location, doing);
}

/** The permanent error for a write, listing or delete at an http(s) location. */
export function readOnlyError(location: HttpLocation, doing: string): UpscaleError {
  return new UpscaleError(
    'Unsupported',
    `${doing} ${location.uri}: http(s) locations are read-only (inputs only); write outputs to s3://bucket/key or a local path`,
    { subject: location.uri },
  );
}

export { redactUrl, redactUrlsIn } from '../redact.ts';
