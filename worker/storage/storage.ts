/**
 * The storage room's entry point: one object that reads and writes local paths, `file://` and
 * `s3://bucket/key` URIs alike, so a step can read its input from S3 and write its output locally
 * (or the reverse) without caring. `https://` URLs (and `http://` on loopback) are read-only inputs
 * (see http-store.ts). The S3 and http clients are created on first use, so local-only runs need no
 * AWS configuration.
 *
 * ffmpeg reads sources through {@link Storage.mediaSource}: local paths directly, S3 objects and
 * secret-bearing URLs through a loopback media proxy (media-proxy.ts) that reads with this Storage,
 * so no credential or signature ever reaches ffmpeg's argv, its stderr, or our logs.
 *
 * Errors are {@link UpscaleError}s naming the URI (http(s): without user info or query): `NotFound`
 * and `AccessDenied` (credentials rejected) are permanent, `Unavailable` (network, 5xx, throttling)
 * is transient, `AlreadyExists` when a write would replace an object without `overwrite`,
 * `Unsupported` for a write to an http(s) location.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { z } from 'zod';
import { UpscaleError } from '../errors.ts';
import { parseLocation } from './location.ts';
import type { HttpLocation, Location } from './location.ts';
import { createFileStore } from './file-store.ts';
import type { S3Options } from './s3-client.ts';
import type { MediaProxy } from './media-proxy.ts';
import type { HttpClientOptions } from './http-client.ts';
import type {
  ByteRange,
  FileStore,
  HttpStore,
  MediaSource,
  ObjectInfo,
  ObjectStore,
  S3Store,
  UploadOptions,
  UploadResult,
  UploadSource,
  WriteOptions,
} from './types.ts';

export interface StorageOptions {
  /** S3 settings; anything left out comes from the AWS environment (see s3-client.ts). */
  s3?: S3Options;
  /** http(s) input settings; the CA bundle defaults to the file `SSL_CERT_FILE` names, when set. */
  http?: HttpClientOptions;
  /** Environment to read AWS_* (and SSL_CERT_FILE, UPSCALE_S3_FORCE_PATH_STYLE) from; default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/** Reads and writes objects at local paths, `file://` and `s3://` URIs. Call `close()` when done. */
export class Storage {
  readonly #options: StorageOptions;
  readonly #files: FileStore = createFileStore();
  // Loaded on the first s3:// URI: the AWS SDK takes some 0.3 s to load, which local runs never need.
  #s3: Promise<S3Store> | undefined;
  // Loaded on the first http(s) URI or proxied source: an ESM import of node:http costs some 50 ms
  // of CPU (its exports load Node's fetch implementation), which a run on local files never needs.
  #http: Promise<HttpStore> | undefined;
  #proxy: Promise<MediaProxy> | undefined;

  constructor(options: StorageOptions = {}) {
    this.#options = options;
  }

  /** Size, ETag (S3) and modification time, or undefined when the object does not exist. */
  async stat(uri: string): Promise<ObjectInfo | undefined> {
    return this.#on(uri, (store, location) => store.stat(location));
  }

  /** True when the object exists. */
  async exists(uri: string): Promise<boolean> {
    return (await this.stat(uri)) !== undefined;
  }

  /** The whole object, or the bytes `[range.start, range.end)`. Fails with `NotFound` when missing. */
  async read(uri: string, range?: ByteRange): Promise<Buffer> {
    return this.#on(uri, (store, location) => store.read(location, range));
  }

  /** A stream of the object (or a byte range of it). */
  async openRead(uri: string, range?: ByteRange): Promise<Readable> {
    return this.#on(uri, (store, location) => store.openRead(location, range));
  }

  /** Reads a JSON object and validates it; invalid JSON or shape is a permanent `InvalidInput`. */
  async readJson<T>(uri: string, schema: z.ZodType<T>): Promise<T> {
    const text = (await this.read(uri)).toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (cause) {
      throw new UpscaleError('InvalidInput', `reading ${uri}: not valid JSON`, { subject: uri, cause });
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue?.path.join('.') || '(root)';
      throw new UpscaleError('InvalidInput', `reading ${uri}: ${where}: ${issue?.message ?? 'invalid'}`, {
        subject: uri,
        cause: parsed.error,
      });
    }
    return parsed.data;
  }

  /**
   * How ffmpeg should open the object without downloading it first: a local file's path; an https
   * input's own URL when it carries no secret (no query string, no user info); anything else (S3
   * objects, URLs with a signature or a password) through the worker's loopback media proxy, whose
   * reads go through this Storage, so credentials stay in the process and are refreshed by the SDK.
   * Fails with `NotFound`/`AccessDenied`/`Unavailable` now rather than later in ffmpeg. Call
   * `release()` when ffmpeg is done (`close()` releases everything).
   */
  async mediaSource(uri: string): Promise<MediaSource> {
    const location = parseLocation(uri);
    if (location.kind === 'file' || (location.kind === 'http' && !carriesSecret(location))) {
      const direct = await this.#on(uri, (store, at) => store.mediaSource!(at));
      return { ...direct, failure: () => undefined, release: () => undefined };
    }
    const found = await this.stat(uri);
    if (found === undefined) {
      const what = location.kind === 'http' ? 'no such object (HTTP 404)' : 'object not found';
      throw new UpscaleError('NotFound', `opening ${location.uri}: ${what}`, { subject: location.uri });
    }
    if (found.size < 0) {
      throw new UpscaleError('Unsupported', `opening ${location.uri}: the server states no size, which ranged reads need`, { subject: location.uri });
    }
    this.#proxy ??= import('./media-proxy.ts').then(({ MediaProxy }) => MediaProxy.start()).catch((cause: unknown) => {
      this.#proxy = undefined;
      throw new UpscaleError('Internal', `opening ${location.uri}: cannot start the loopback media proxy`, { subject: location.uri, cause });
    });
    const proxy = await this.#proxy;
    const name = (location.kind === 's3' ? location.key : new URL(location.uri).pathname).split('/').pop() ?? '';
    const served = proxy.serve({
      display: location.uri,
      size: found.size,
      name,
      open: (range) => this.openRead(uri, range),
    });
    return { kind: 'http', url: served.url, display: location.uri, failure: () => served.failure(), release: () => served.release() };
  }

  /** Writes a small object (a manifest, a probe) in one request; atomic, no overwrite unless asked. */
  async write(uri: string, body: Uint8Array | string, options: WriteOptions = {}): Promise<ObjectInfo> {
    return this.#on(uri, (store, location) => store.write(location, body, options));
  }

  /** Writes `value` as pretty JSON (see {@link Storage.write}). */
  async writeJson(uri: string, value: unknown, options: WriteOptions = {}): Promise<ObjectInfo> {
    const body = `${JSON.stringify(value, null, 2)}\n`;
    return this.write(uri, body, { contentType: 'application/json', ...options });
  }

  /**
   * Streams a large object (an encoded shard, the final output) to `uri`. The object appears only once
   * everything is written (S3: multipart completed; local: rename); on failure or abort nothing is
   * left. Fails with `AlreadyExists` before sending data when the object exists and `overwrite` is off.
   */
  async upload(uri: string, source: UploadSource, options: UploadOptions = {}): Promise<UploadResult> {
    return this.#on(uri, (store, location) => store.upload(location, source, options));
  }

  /** Objects whose URI starts with `prefixUri`, sorted by key (local: a trailing `/` means a directory). */
  async list(prefixUri: string): Promise<ObjectInfo[]> {
    return this.#on(prefixUri, (store, location) => store.list(location));
  }

  /** Deletes one object; deleting a missing object succeeds. */
  async delete(uri: string): Promise<void> {
    return this.#on(uri, (store, location) => store.delete(location));
  }

  /** Deletes every object under `prefixUri` (and, on S3, unfinished uploads there); returns the count. */
  async deletePrefix(prefixUri: string): Promise<number> {
    return this.#on(prefixUri, (store, location) => store.deletePrefix(location));
  }

  /**
   * Closes the S3 and http clients' sockets and the media proxy (its sources stop working); the
   * Storage can still be used (it reconnects).
   */
  close(): void {
    const proxy = this.#proxy;
    this.#proxy = undefined;
    void proxy?.then((started) => started.close()).catch(() => undefined);
    void this.#s3?.then((store) => store.close()).catch(() => undefined);
    this.#s3 = undefined;
    void this.#http?.then((store) => store.close()).catch(() => undefined);
    this.#http = undefined;
  }

  // ObjectStore's methods are bivariant in their location parameter, so each backend passes as an
  // ObjectStore<Location>; the dispatch below guarantees it only ever gets its own kind.
  async #on<T>(uri: string, action: (store: ObjectStore<Location>, location: Location) => Promise<T>): Promise<T> {
    const location = parseLocation(uri);
    if (location.kind === 'file') return action(this.#files, location);
    if (location.kind === 'http') {
      this.#http ??= this.#createHttp();
      return action(await this.#http, location);
    }
    this.#s3 ??= this.#createS3();
    return action(await this.#s3, location);
  }

  #createS3(): Promise<S3Store> {
    const creating = (async () => {
      const [{ createS3Store }, { createS3Client }] = await Promise.all([import('./s3-store.ts'), import('./s3-client.ts')]);
      return createS3Store(createS3Client(this.#options.s3, this.#options.env));
    })();
    // A bad S3 setting fails this call and the next one tries again, as before the lazy load.
    creating.catch(() => {
      if (this.#s3 === creating) this.#s3 = undefined;
    });
    return creating;
  }

  #createHttp(): Promise<HttpStore> {
    const creating = (async () => {
      const options = this.#httpOptions();
      const { createHttpStore } = await import('./http-store.ts');
      return createHttpStore(options);
    })();
    // A bad setting (an unreadable CA bundle) fails this call and the next one tries again.
    creating.catch(() => {
      if (this.#http === creating) this.#http = undefined;
    });
    return creating;
  }

  #httpOptions(): HttpClientOptions {
    const options = { ...this.#options.http };
    const bundle = (this.#options.env ?? process.env)['SSL_CERT_FILE'];
    if (options.ca === undefined && bundle !== undefined && bundle !== '') {
      try {
        options.ca = readFileSync(bundle);
      } catch (cause) {
        throw new UpscaleError('InvalidArgument', `cannot read the CA bundle SSL_CERT_FILE=${bundle}: ${(cause as Error).message}`, {
          subject: 'SSL_CERT_FILE',
          cause,
        });
      }
    }
    return options;
  }
}

/** True for an http(s) URL whose query string or user info may be a credential (a signature, a password). */
function carriesSecret(location: HttpLocation): boolean {
  const url = new URL(location.url);
  return url.search !== '' || url.username !== '' || url.password !== '';
}
