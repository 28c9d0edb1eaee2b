/**
 * Builds the S3 client from explicit options plus the standard AWS environment and credential chain,
 * so AWS, MinIO, Ceph, R2 and versitygw all work with the same code.
 *
 * Resolution, first match wins:
 * - endpoint: `options.endpoint`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else the AWS endpoint
 *   for the region.
 * - region: `options.region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the shared config file (SDK), else
 *   `us-east-1` when a custom endpoint is set (S3-compatible servers mostly ignore it).
 * - path-style addressing: `options.forcePathStyle`, `UPSCALE_S3_FORCE_PATH_STYLE` (`true` or
 *   `false`: a pod forces it either way), else on when a custom endpoint is set (MinIO, Ceph and
 *   versitygw need it by default; R2 accepts it), off for AWS.
 * - credentials: `options.credentials` (fixed, or a provider the SDK calls again as they near expiry),
 *   else the SDK's default chain (env, profile, web identity / IRSA, container and instance
 *   metadata), which the SDK refreshes itself.
 * - retries: the SDK's `standard` retry mode (jittered exponential backoff, 500 ms base for
 *   throttling such as 503 SlowDown, 100 ms otherwise); attempts from `options.maxAttempts`, else
 *   `AWS_MAX_ATTEMPTS`, else 6. The SDK's default of 3 gave up on a request throttled three times
 *   in a row (tested in test/e2e/faults-s3.test.ts); 6 rides out a throttling burst or a storage
 *   restart of a few seconds, while a dead endpoint still fails within about 10 s (exit 3).
 * Checksums are computed and validated only when the operation requires them: several S3-compatible
 * servers reject or mishandle the newer default CRC32 trailers.
 */
import { S3Client } from '@aws-sdk/client-s3';
import type { S3ClientConfig } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { UpscaleError } from '../errors.ts';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * Credentials that may change: called before requests; the SDK calls it again once `expiration` is
 * less than 5 minutes away (as for STS, IRSA or container credentials).
 */
export type S3CredentialsProvider = () => Promise<S3Credentials & { expiration?: Date }>;

export interface S3Options {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: S3Credentials | S3CredentialsProvider;
  maxAttempts?: number;
  /** TCP connect timeout; default 10 s, so a black-holed endpoint fails (transiently) instead of hanging. */
  connectionTimeoutMs?: number;
  /** Socket inactivity timeout per request; default 120 s. */
  requestTimeoutMs?: number;
}

const httpUrl = z
  .string()
  .trim()
  .refine((value) => /^https?:\/\/[^/]/i.test(value) && URL.canParse(value), 'must be an http(s) URL');

const boolean = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['true', 'false'], 'must be true or false'))
  .transform((value) => value === 'true');

const S3EnvSchema = z.object({
  AWS_ENDPOINT_URL_S3: httpUrl.optional(),
  AWS_ENDPOINT_URL: httpUrl.optional(),
  AWS_REGION: z.string().trim().min(1).optional(),
  AWS_DEFAULT_REGION: z.string().trim().min(1).optional(),
  UPSCALE_S3_FORCE_PATH_STYLE: boolean.optional(),
  AWS_MAX_ATTEMPTS: z
    .string()
    .trim()
    .regex(/^\d+$/, 'must be a whole number from 1 to 20')
    .transform(Number)
    .refine((n) => n >= 1 && n <= 20, 'must be a whole number from 1 to 20')
    .optional(),
});

/** Attempts per S3 request when neither the options nor AWS_MAX_ATTEMPTS say (see the module comment). */
export const DEFAULT_MAX_ATTEMPTS = 6;

/** Reads the S3 settings from `env`; empty variables count as unset. */
function readEnv(env: NodeJS.ProcessEnv): z.infer<typeof S3EnvSchema> {
  const picked = Object.fromEntries(
    Object.keys(S3EnvSchema.shape)
      .map((name) => [name, env[name]])
      .filter(([, value]) => value !== undefined && value !== ''),
  ) as Record<string, string>;
  const parsed = S3EnvSchema.safeParse(picked);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    throw new UpscaleError('InvalidArgument', `invalid S3 setting ${variable}: ${issue?.message ?? 'invalid'}`, {
      subject: variable,
    });
  }
  return parsed.data;
}

/** The resolved client configuration (exported for tests and for `upscale` to show what it uses). */
export function s3ClientConfig(options: S3Options = {}, env: NodeJS.ProcessEnv = process.env): S3ClientConfig {
  const fromEnv = readEnv(env);
  if (options.endpoint !== undefined && !httpUrl.safeParse(options.endpoint).success) {
    throw new UpscaleError('InvalidArgument', `invalid S3 endpoint ${options.endpoint}: must be an http(s) URL`, {
      subject: 'endpoint',
    });
  }
  const endpoint = options.endpoint ?? fromEnv.AWS_ENDPOINT_URL_S3 ?? fromEnv.AWS_ENDPOINT_URL;
  const region =
    options.region ?? fromEnv.AWS_REGION ?? fromEnv.AWS_DEFAULT_REGION ?? (endpoint === undefined ? undefined : 'us-east-1');
  const config: S3ClientConfig = {
    retryMode: 'standard',
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    forcePathStyle: options.forcePathStyle ?? fromEnv.UPSCALE_S3_FORCE_PATH_STYLE ?? endpoint !== undefined,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? 10_000,
      requestTimeout: options.requestTimeoutMs ?? 120_000,
    },
  };
  if (endpoint !== undefined) config.endpoint = endpoint;
  if (region !== undefined) config.region = region;
  config.maxAttempts = options.maxAttempts ?? fromEnv.AWS_MAX_ATTEMPTS ?? DEFAULT_MAX_ATTEMPTS;
  if (options.credentials !== undefined) {
    config.credentials = typeof options.credentials === 'function' ? options.credentials : { ...options.credentials };
  }
  return config;
}

/** Creates an S3 client; see the module comment for where each setting comes from. */
export function createS3Client(options: S3Options = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  return new S3Client(s3ClientConfig(options, env));
}
