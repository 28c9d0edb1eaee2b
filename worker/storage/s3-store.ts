/**
 * The S3 backend: the only code in the project that sends S3 requests.
 *
 * Atomicity: uploads go through `@aws-sdk/lib-storage` multipart uploads, so the object appears only
 * when CompleteMultipartUpload succeeds; on any failure or abort the upload is aborted and its parts
 * discarded (an upload killed with the process leaves invisible parts until `deletePrefix` or a bucket
 * lifecycle rule removes them). No-overwrite: `If-None-Match: *` on PutObject and on
 * CompleteMultipartUpload (AWS since 2024, versitygw, MinIO, R2), plus a HEAD before large uploads so an
 * existing output fails before any data is sent. A server that ignores If-None-Match is left with the
 * HEAD check alone, which races with a concurrent writer.
 *
 * ffmpeg never gets a presigned URL: `Storage.mediaSource` serves S3 objects to it on loopback
 * (media-proxy.ts) through {@link ObjectStore.openRead}, so every read is signed by the SDK with
 * credentials it refreshes itself, and no signature reaches ffmpeg's argv or stderr.
 */
import { Readable } from 'node:stream';
import { inspect } from 'node:util';
import { pipeline } from 'node:stream/promises';
import { createReadStream } from 'node:fs';
import { stat as fsStat } from 'node:fs/promises';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { UpscaleError } from '../errors.ts';
import type { S3Location } from './location.ts';
import { parseLocation, requireObject } from './location.ts';
import { fromFsError, fromS3Error, isOwnError } from './storage-errors.ts';
import { HashingStream } from './hashing-stream.ts';
import { rangeHeader } from './byte-range.ts';
import type {
  ByteRange,
  ObjectInfo,
  S3Store,
  UploadOptions,
  UploadResult,
  UploadSource,
  WriteOptions,
} from './types.ts';

const DEFAULT_PART_SIZE = 8 * 1024 * 1024;

function info(location: S3Location, size: number, etag?: string, lastModified?: Date): ObjectInfo {
  const result: ObjectInfo = { uri: location.uri, size };
  if (etag !== undefined) result.etag = etag.replaceAll('"', '');
  if (lastModified !== undefined) result.lastModified = lastModified;
  return result;
}

function statusOf(error: unknown): number | undefined {
  return (error as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
}

/** Creates the S3 backend over `client` (see s3-client.ts for configuration). */
export function createS3Store(client: S3Client): S3Store {
  const get = async (location: S3Location, range: ByteRange | undefined, doing: string) => {
    requireObject(location, doing);
    try {
      const header = rangeHeader(range);
      return await client.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, ...(header ? { Range: header } : {}) }),
      );
    } catch (error) {
      throw fromS3Error(error, doing, location);
    }
  };

  const stat = async (location: S3Location, retried = false): Promise<ObjectInfo | undefined> => {
    requireObject(location, 'checking');
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: location.bucket, Key: location.key }));
      return info(location, head.ContentLength ?? 0, head.ETag, head.LastModified);
    } catch (error) {
      const status = statusOf(error);
      if (status !== 404 && status !== 403) throw fromS3Error(error, 'checking', location);
    }
    // A HEAD error has no body, so a 404 cannot tell a missing key from a missing bucket or (on
    // versitygw) an unknown access key, nor a 403 rejected credentials from a denied permission.
    // A one-byte GET returns the error code and settles it.
    try {
      const probe = await client.send(
        new GetObjectCommand({ Bucket: location.bucket, Key: location.key, Range: 'bytes=0-0' }),
      );
      (probe.Body as Readable | undefined)?.destroy();
    } catch (error) {
      const mapped = fromS3Error(error, 'checking', location);
      const name = (error as { name?: string }).name;
      if (name === 'NoSuchKey' || name === 'NotFound') return undefined;
      if (mapped.code !== 'InvalidArgument') throw mapped; // InvalidRange: an empty object appeared
    }
    if (retried) throw new UpscaleError('Unavailable', `checking ${location.uri}: object flickered between requests`);
    return stat(location, true);
  };

  const list = async (prefix: S3Location): Promise<ObjectInfo[]> => {
    const found: ObjectInfo[] = [];
    try {
      for await (const page of paginateListObjectsV2({ client }, { Bucket: prefix.bucket, Prefix: prefix.key })) {
        for (const item of page.Contents ?? []) {
          if (item.Key === undefined) continue;
          const location: S3Location = { ...prefix, key: item.Key, uri: `s3://${prefix.bucket}/${item.Key}` };
          found.push(info(location, item.Size ?? 0, item.ETag, item.LastModified));
        }
      }
    } catch (error) {
      throw fromS3Error(error, 'listing', prefix);
    }
    return found;
  };

  return {
    stat: (location) => stat(location),

    async read(location, range) {
      if (range !== undefined && range.end === range.start) return Buffer.alloc(0);
      const response = await get(location, range, 'reading');
      try {
        const bytes = await response.Body!.transformToByteArray();
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        throw fromS3Error(error, 'reading', location);
      }
    },

    async openRead(location, range) {
      if (range !== undefined && range.end === range.start) return Readable.from([]);
      const response = await get(location, range, 'reading');
      return response.Body as Readable;
    },

    async write(location, body, options: WriteOptions) {
      requireObject(location, 'writing');
      try {
        const result = await client.send(
          new PutObjectCommand({
            Bucket: location.bucket,
            Key: location.key,
            Body: body,
            ...(options.contentType ? { ContentType: options.contentType } : {}),
            ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
          }),
        );
        return info(location, Buffer.byteLength(body), result.ETag);
      } catch (error) {
        throw fromS3Error(error, 'writing', location);
      }
    },

    async upload(location, source: UploadSource, options: UploadOptions): Promise<UploadResult> {
      requireObject(location, 'uploading');
      if (!options.overwrite && (await stat(location)) !== undefined) {
        throw new UpscaleError(
          'AlreadyExists',
          `uploading ${location.uri}: the object already exists and overwrite was not requested`,
          { subject: location.uri },
        );
      }
      let length: number | undefined;
      if ('path' in source) {
        try {
          length = (await fsStat(source.path)).size;
        } catch (error) {
          throw fromFsError(error, `uploading to ${location.uri} from`, parseLocation(source.path));
        }
      }
      const input = 'path' in source ? createReadStream(source.path) : source;
      const hashing = new HashingStream(options.onProgress);
      // Errors of the source (an encoder that died, a signal) end the body stream with that error;
      // lib-storage then aborts the multipart upload and rejects. lib-storage's own abortController
      // is not used: it rejects before the abort request has been sent.
      let sourceError: unknown;
      let uploadFailed = false;
      const feeding = pipeline(input, hashing, { signal: options.signal ?? new AbortController().signal }).catch(
        (error: unknown) => {
          if (uploadFailed) return; // we closed the streams ourselves after the upload failed
          sourceError = error;
          hashing.destroy(error instanceof Error ? error : new Error(String(error)));
        },
      );
      const upload = new Upload({
        client,
        leavePartsOnError: false,
        partSize: options.partSize ?? DEFAULT_PART_SIZE,
        queueSize: options.queueSize ?? 4,
        params: {
          Bucket: location.bucket,
          Key: location.key,
          Body: hashing,
          ...(length === undefined ? {} : { ContentLength: length }),
          ...(options.contentType ? { ContentType: options.contentType } : {}),
          ...(options.overwrite ? {} : { IfNoneMatch: '*' }),
        },
      });
      try {
        const result = await upload.done();
        await feeding;
        return { ...info(location, hashing.bytes, result.ETag), sha256: hashing.digest() };
      } catch (error) {
        uploadFailed = sourceError === undefined;
        if (uploadFailed) {
          // Stop reading a source nobody consumes any more; destroying both ends also settles the
          // pipeline when the source had already ended into a full buffer.
          input.destroy();
          hashing.destroy();
        }
        await feeding;
        if (options.signal?.aborted) {
          throw new UpscaleError('Cancelled', `uploading ${location.uri}: aborted`, {
            subject: location.uri,
            cause: options.signal.reason,
          });
        }
        if (sourceError !== undefined) {
          if (isOwnError(sourceError)) throw sourceError;
          const message = sourceError instanceof Error ? sourceError.message : inspect(sourceError);
          throw new UpscaleError('Internal', `uploading ${location.uri}: reading the source failed: ${message}`, {
            subject: location.uri,
            cause: sourceError,
          });
        }
        throw fromS3Error(error, 'uploading', location);
      }
    },

    list,

    async delete(location) {
      requireObject(location, 'deleting');
      try {
        await client.send(new DeleteObjectCommand({ Bucket: location.bucket, Key: location.key }));
      } catch (error) {
        throw fromS3Error(error, 'deleting', location);
      }
    },

    async deletePrefix(prefix) {
      if (prefix.key === '') {
        throw new UpscaleError('InvalidArgument', `deleting ${prefix.uri}: refusing to delete a whole bucket`, {
          subject: prefix.uri,
        });
      }
      const keys = (await list(prefix)).map((object) => object.uri.slice(`s3://${prefix.bucket}/`.length));
      try {
        for (let index = 0; index < keys.length; index += 1000) {
          const batch = keys.slice(index, index + 1000).map((Key) => ({ Key }));
          const result = await client.send(
            new DeleteObjectsCommand({ Bucket: prefix.bucket, Delete: { Objects: batch, Quiet: true } }),
          );
          const failed = result.Errors?.[0];
          if (failed) throw Object.assign(new Error(failed.Message ?? 'delete failed'), { name: failed.Code ?? 'Error' });
        }
        // Parts of uploads that died with their process are invisible but still stored.
        let markers: { KeyMarker?: string; UploadIdMarker?: string } = {};
        for (;;) {
          const page = await client.send(
            new ListMultipartUploadsCommand({ Bucket: prefix.bucket, Prefix: prefix.key, ...markers }),
          );
          for (const upload of page.Uploads ?? []) {
            await client.send(
              new AbortMultipartUploadCommand({ Bucket: prefix.bucket, Key: upload.Key, UploadId: upload.UploadId }),
            );
          }
          if (!page.IsTruncated) break;
          markers = {
            ...(page.NextKeyMarker ? { KeyMarker: page.NextKeyMarker } : {}),
            ...(page.NextUploadIdMarker ? { UploadIdMarker: page.NextUploadIdMarker } : {}),
          };
        }
      } catch (error) {
        throw fromS3Error(error, 'deleting', prefix);
      }
      return keys.length;
    },

    close() {
      client.destroy();
    },
  };
}
