/**
 * Parses the locations users and tasks give us: local paths, `file://` URIs and `s3://bucket/key`
 * URIs. Everything in `worker/storage` works on parsed {@link Location}s; `uri` is the canonical
 * spelling used in messages (an absolute path for local files, `s3://bucket/key` for S3).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UpscaleError } from '../errors.ts';

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

export type Location = FileLocation | S3Location;

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
    return { kind: 's3', bucket, key, uri: `s3://${bucket}/${key}` };
  }
  throw new UpscaleError(
    'Unsupported',
    `unsupported storage location ${redactUrl(input)}: use a local path, file:// or s3://bucket/key`,
    { subject: redactUrl(input) },
  );
}

function fileLocation(input: string): FileLocation {
  const resolved = path.resolve(input);
  const withSlash = input.endsWith('/') && !resolved.endsWith('/') ? `${resolved}/` : resolved;
  return { kind: 'file', path: withSlash, uri: withSlash };
}

/** True for an object location (an S3 key or file path that does not end in `/`). */
export function isObjectLocation(location: Location): boolean {
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
 * Drops the query string and fragment of an http(s) URL so presigned signatures and credential scopes
 * never reach logs or messages. Non-URLs are returned unchanged.
 */
export function redactUrl(url: string): string {
  const match = /^(https?:\/\/[^?#\s]*)[?#]\S*/i.exec(url);
  return match?.[1] === undefined ? url : `${match[1]}?<redacted>`;
}

/** Replaces every http(s) URL query string inside free text (ffmpeg stderr, SDK messages). */
export function redactUrlsIn(text: string): string {
  return text.replace(/(https?:\/\/[^?#\s"'<>]*)[?#][^\s"'<>]*/gi, '$1?<redacted>');
}
