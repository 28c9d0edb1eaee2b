/**
 * The storage room's vocabulary and the backend contract. Callers use {@link Storage} (storage.ts),
 * which takes URI strings; the local and S3 backends implement {@link ObjectStore} on parsed locations.
 */
import type { Readable } from 'node:stream';
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

/**
 * How ffmpeg reaches an object without a full download: a local path, a short-lived presigned
 * HTTP(S) GET URL, or an https input's own URL (ffmpeg issues ranged requests itself). `url` may
 * carry a signature or a password: never log it, log `display` instead.
 */
export interface MediaSource {
  kind: 'file' | 'http';
  url: string;
  /** The URI, safe to log. */
  display: string;
  /** When the presigned URL stops working (S3 only). */
  expiresAt?: Date;
}

/** One backend (local files, S3, read-only http(s)). Missing objects give `undefined` from stat, errors elsewhere. */
export interface ObjectStore<L extends Location> {
  stat(location: L): Promise<ObjectInfo | undefined>;
  read(location: L, range?: ByteRange): Promise<Buffer>;
  openRead(location: L, range?: ByteRange): Promise<Readable>;
  mediaSource(location: L, expiresInSeconds: number): Promise<MediaSource>;
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
