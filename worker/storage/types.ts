/**
 * The storage room's vocabulary and the backend contract. Callers use {@link Storage} (storage.ts),
 * which takes URI strings; the local and S3 backends implement {@link ObjectStore} on parsed locations.
 */
import type { Readable } from 'node:stream';
import type { UpscaleError } from '../errors.ts';
import type { FileLocation, HttpLocation, Location, S3Location } from './location.ts';

export interface ObjectInfo {
  /** Canonical URI (absolute path for local files; redacted for http(s)). */
  uri: string;
  /** Bytes; -1 for an http(s) object whose server states no length. */
  size: number;
  /** S3 (or http) ETag without quotes; absent for local files. */
  etag?: string;
  lastModified?: Date;
}

/** A byte range `[start, end)`; `end` absent means to the end of the object. */
export interface ByteRange {
  start: number;
  end?: number;
}

export interface WriteOptions {
  /** Replace an existing object. Default false: an existing object fails with `AlreadyExists`. */
  overwrite?: boolean;
  contentType?: string;
}

export interface UploadOptions extends WriteOptions {
  /** Aborts the upload; nothing becomes visible and S3 multipart parts are discarded. */
  signal?: AbortSignal;
  /** Multipart part size in bytes (S3 minimum 5 MiB); default 8 MiB. */
  partSize?: number;
  /** Parts uploaded in parallel; default 4. Memory use is about partSize x queueSize. */
  queueSize?: number;
  /** Called with the number of bytes read from the source so far. */
  onProgress?: (bytes: number) => void;
}

export interface UploadResult extends ObjectInfo {
  /** Hex SHA-256 of the bytes uploaded, computed while streaming. */
  sha256: string;
}

/** A source for {@link Storage.upload}: a stream, or a local file to read. */
export type UploadSource = Readable | { path: string };

/** What a backend's `mediaSource` gives: a local path, or an http(s) URL ffmpeg may open directly. */
export interface StoreMediaSource {
  kind: 'file' | 'http';
  url: string;
  /** The URI, safe to log. */
  display: string;
}

/**
 * How ffmpeg reaches an object without a full download (see `Storage.mediaSource`): a local path, an
 * https input's own URL (one without query string or user info), or a loopback URL of the worker's
 * own media proxy (S3 objects, and http(s) URLs that carry a secret). `url` never holds a storage
 * credential, but the loopback URL's token gives read access while the step runs: log `display`.
 */
export interface MediaSource extends StoreMediaSource {
  /**
   * What went wrong reading the object through the proxy, classified by the storage room (e.g.
   * AccessDenied from the S3 server, or a transient Unavailable); prefer it to ffmpeg's own report.
   */
  failure(): UpscaleError | undefined;
  /** Stops serving the object on loopback (no-op for direct sources); `Storage.close()` does it too. */
  release(): void;
}

/** One backend (local files, S3, read-only http(s)). Missing objects give `undefined` from stat, errors elsewhere. */
export interface ObjectStore<L extends Location> {
  stat(location: L): Promise<ObjectInfo | undefined>;
  read(location: L, range?: ByteRange): Promise<Buffer>;
  openRead(location: L, range?: ByteRange): Promise<Readable>;
  /** Local files and direct http(s) inputs; S3 objects are served by the media proxy instead. */
  mediaSource?(location: L): Promise<StoreMediaSource>;
  write(location: L, body: Uint8Array | string, options: WriteOptions): Promise<ObjectInfo>;
  upload(location: L, source: UploadSource, options: UploadOptions): Promise<UploadResult>;
  list(prefix: L): Promise<ObjectInfo[]>;
  delete(location: L): Promise<void>;
  deletePrefix(prefix: L): Promise<number>;
  close(): void;
}

export type FileStore = ObjectStore<FileLocation>;
export type S3Store = ObjectStore<S3Location>;
export type HttpStore = ObjectStore<HttpLocation>;
