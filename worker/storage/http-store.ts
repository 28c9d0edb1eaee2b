/**
 * The read-only http(s) backend: an input video (or any object) on a web server, e.g.
 * `https://cdn.example/in.mp4` or a presigned URL of another cloud's storage.
 *
 * - `stat` sends a one-byte ranged GET rather than a HEAD: presigned URLs are signed for GET only,
 *   and the `Content-Range` answer gives the size as well.
 * - `mediaSource` checks the object the same way (so a missing object or a refusal fails here, with
 *   a classified error, not later as ffmpeg's "HTTP error 404"), then hands ffmpeg the URL as given.
 *   ffmpeg reads it with ranged requests under the http(s)-only protocol whitelist of
 *   worker/media/input-policy.ts, and follows the same redirects this check has just vetted.
 *   `Storage.mediaSource` uses it only for URLs without query string or user info: a URL carrying a
 *   secret is served to ffmpeg on loopback instead (media-proxy.ts), so argv never holds it.
 * - Writes, listings and deletes fail with a permanent `Unsupported` error naming the URI.
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';
import { UpscaleError } from '../errors.ts';
import { checkRange } from './byte-range.ts';
import { readAll } from './read-all.ts';
import { createHttpClient } from './http-client.ts';
import type { HttpClientOptions, HttpResponse } from './http-client.ts';
import { fromHttpError, fromHttpStatus } from './http-errors.ts';
import { readOnlyError } from './location.ts';
import type { HttpLocation } from './location.ts';
import type { ByteRange, HttpStore, ObjectInfo, StoreMediaSource } from './types.ts';

/** The size from `Content-Range: bytes 0-0/1234`, `Content-Length` of a whole body, else -1. */
function sizeOf(response: HttpResponse): number {
  const total = /\/(\d+)\s*$/.exec(response.headers['content-range'] ?? '')?.[1];
  if (total !== undefined) return Number(total);
  const length = response.headers['content-length'];
  return response.status === 200 && length !== undefined && /^\d+$/.test(length) ? Number(length) : -1;
}

function info(location: HttpLocation, response: HttpResponse, size: number): ObjectInfo {
  const result: ObjectInfo = { uri: location.uri, size };
  const etag = response.headers.etag;
  if (etag !== undefined) result.etag = etag.replace(/^W\//, '').replaceAll('"', '');
  const modified = response.headers['last-modified'];
  if (modified !== undefined && !Number.isNaN(Date.parse(modified))) result.lastModified = new Date(modified);
  return result;
}

/** Bytes `[start, end)` of a whole-object body, for a server that ignored the Range header. */
async function* slice(body: IncomingMessage, start: number, end: number | undefined): AsyncGenerator<Buffer> {
  let offset = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    const from = Math.max(0, start - offset);
    const to = end === undefined ? chunk.length : Math.min(chunk.length, end - offset);
    if (to > from) yield chunk.subarray(from, to);
    offset += chunk.length;
    if (end !== undefined && offset >= end) {
      body.destroy();
      return;
    }
  }
}

/** Creates the read-only http(s) backend. */
export function createHttpStore(options: HttpClientOptions = {}): HttpStore {
  const client = createHttpClient(options);

  const stat = async (location: HttpLocation): Promise<ObjectInfo | undefined> => {
    const response = await client.get(location, { start: 0, end: 1 }, 'checking');
    // A server that ignores Range sends the whole object: stop it rather than download it.
    if (response.status === 206) response.body.resume();
    else response.body.destroy();
    if (response.status === 206 || response.status === 200) return info(location, response, sizeOf(response));
    if (response.status === 416) return info(location, response, 0); // bytes=0-0 of an empty object
    if (response.status === 404 || response.status === 410) return undefined;
    throw fromHttpStatus(response.status, 'checking', location);
  };

  const openRead = async (location: HttpLocation, range?: ByteRange): Promise<Readable> => {
    if (range !== undefined) checkRange(range);
    if (range !== undefined && range.end === range.start) return Readable.from([]);
    const response = await client.get(location, range, 'reading');
    if (response.status === 200 && range !== undefined && (range.start > 0 || range.end !== undefined)) {
      return Readable.from(slice(response.body, range.start, range.end));
    }
    if (response.status === 200 || response.status === 206) return response.body;
    response.body.destroy();
    throw fromHttpStatus(response.status, 'reading', location);
  };

  return {
    stat,
    openRead,

    async read(location, range) {
      return readAll(await openRead(location, range), (error) => fromHttpError(error, 'reading', location));
    },

    async mediaSource(location): Promise<StoreMediaSource> {
      if ((await stat(location)) === undefined) {
        throw new UpscaleError('NotFound', `opening ${location.uri}: no such object (HTTP 404)`, { subject: location.uri });
      }
      return { kind: 'http', url: location.url, display: location.uri };
    },

    async write(location) {
      throw readOnlyError(location, 'writing');
    },
    async upload(location) {
      throw readOnlyError(location, 'uploading');
    },
    async list(location) {
      throw readOnlyError(location, 'listing');
    },
    async delete(location) {
      throw readOnlyError(location, 'deleting');
    },
    async deletePrefix(location) {
      throw readOnlyError(location, 'deleting');
    },

    close() {
      client.close();
    },
  };
}
