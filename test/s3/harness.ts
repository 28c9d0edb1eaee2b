/**
 * Test helper for tests that need the real S3 server: `useS3()` starts versitygw (or reuses the
 * running one, as `npm run s3:start` does) once per test file, and `s3.bucket(t)` gives each test its
 * own bucket, emptied and deleted when the test ends. The server stays up for the next test file;
 * `npm run s3:stop` ends it.
 *
 * ```ts
 * const s3 = await useS3();
 * test('writes an object', async (t) => {
 *   const bucket = await s3.bucket(t);
 *   const storage = new Storage({ s3: s3.options });
 *   await storage.write(`s3://${bucket}/a.json`, '{}');
 * });
 * ```
 */
import { randomBytes } from 'node:crypto';
import type { TestContext } from 'node:test';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { S3Options } from '../../worker/storage/s3-client.ts';
import { startS3Server } from './server.ts';
import type { S3ServerInfo } from './server.ts';

export interface TestS3 {
  info: S3ServerInfo;
  /** Explicit options for `new Storage({ s3 })`: endpoint, region, credentials, path-style. */
  options: S3Options;
  /** A raw SDK client for checks the Storage API does not offer (multipart listings). */
  client: S3Client;
  /** Creates a bucket unique to test `t`; it is emptied and deleted after the test. */
  bucket(t: TestContext): Promise<string>;
}

/** Starts or reuses the S3 test server (building versitygw on first use). */
export async function useS3(): Promise<TestS3> {
  const info = await startS3Server();
  const options: S3Options = {
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
  };
  const client = new S3Client({
    ...options,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    info,
    options,
    client,
    async bucket(t) {
      const name = `t-${randomBytes(6).toString('hex')}`;
      await client.send(new CreateBucketCommand({ Bucket: name }));
      t.after(() => removeBucket(client, name));
      return name;
    },
  };
}

/** Empties (objects and unfinished multipart uploads) and deletes a bucket. */
async function removeBucket(client: S3Client, bucket: string): Promise<void> {
  for await (const page of paginateListObjectsV2({ client }, { Bucket: bucket })) {
    for (const object of page.Contents ?? []) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
    }
  }
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
