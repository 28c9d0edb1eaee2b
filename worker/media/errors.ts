/**
 * The media room's one error class. Every failure that leaves `worker/media` is a {@link MediaError}
 * with a stable `code`, the `step` that failed, the `object` it failed on (an input or output name,
 * never a presigned URL with its signature) and whether retrying can help (`permanent`).
 */
import { UpscaleError, type ErrorCode } from '../errors.ts';


/** Stable media reasons; each maps to one of the project's error codes (see CODE below). */
export type MediaErrorCode =
  | 'NotAVideo' // the input is not a media file ffmpeg can read (text, garbage, unknown format)
  | 'NoVideoStream' // a media file without a (non-cover-art) video stream
  | 'TruncatedInput' // the file ends early or lacks its index (moov atom)
  | 'UnsafeInput' // the input is a playlist/concat list or otherwise asks ffmpeg to follow references
  | 'InputNotFound' // the local file does not exist
  | 'InputUnreachable' // network error reaching a URL input (transient)
  | 'InputForbidden' // HTTP 401/403 on a URL input: wrong credentials or an expired presigned URL
  | 'UnsupportedInput' // a readable video we cannot process exactly (e.g. packets without timestamps)
  | 'FrameMismatch' // decoded or encoded frames differ from the plan (count or timestamps)
  | 'UnsupportedOutput' // the output container cannot hold the chosen codec, or unknown extension
  | 'OutputExists' // the output exists and overwriting was not asked for
  | 'InvalidOptions' // a caller passed inconsistent options (frame size, range, codec)
  | 'EncoderUnavailable' // an explicitly requested encoder is missing (e.g. NVENC on an H100)
  | 'VerifyFailed' // the assembled output does not match the source (frames, duration, shards)
  | 'NoSpace' // ffmpeg could not write its output: no space left on device or quota exceeded (transient)
  | 'FfmpegFailed'; // ffmpeg/ffprobe failed for a reason we could not classify (transient)

/** The media steps, used in messages ("extract frames [17,31) of in.mp4: ..."). */
export type MediaStep = 'probe' | 'extract' | 'encode' | 'assemble';

const PERMANENT: ReadonlySet<MediaErrorCode> = new Set<MediaErrorCode>([
  'NotAVideo',
  'NoVideoStream',
  'TruncatedInput',
  'UnsafeInput',
  'InputNotFound',
  'InputForbidden',
  'UnsupportedInput',
  'FrameMismatch',
  'UnsupportedOutput',
  'OutputExists',
  'InvalidOptions',
  'EncoderUnavailable',
  'VerifyFailed',
]);

/** How each media reason maps onto the project's closed set of codes (worker/errors.ts). */
const CODE: Record<MediaErrorCode, ErrorCode> = {
  NotAVideo: 'InvalidInput',
  NoVideoStream: 'InvalidInput',
  TruncatedInput: 'InvalidInput',
  UnsafeInput: 'InvalidInput',
  InputNotFound: 'NotFound',
  InputUnreachable: 'Unavailable',
  InputForbidden: 'AccessDenied',
  UnsupportedInput: 'Unsupported',
  FrameMismatch: 'VerificationFailed',
  UnsupportedOutput: 'Unsupported',
  OutputExists: 'AlreadyExists',
  InvalidOptions: 'InvalidArgument',
  EncoderUnavailable: 'Unsupported',
  VerifyFailed: 'VerificationFailed',
  NoSpace: 'Unavailable',
  FfmpegFailed: 'Internal',
};

/**
 * An error from the media room: an {@link UpscaleError} whose `reason` says exactly what went wrong
 * in media terms; `message` is `<step> <object>: <cause>`.
 */
export class MediaError extends UpscaleError {
  override readonly name = 'MediaError';
  readonly reason: MediaErrorCode;
  override readonly step: MediaStep;
  readonly object: string;

  constructor(
    reason: MediaErrorCode,
    step: MediaStep,
    object: string,
    cause: string,
    options?: { cause?: unknown },
  ) {
    super(CODE[reason], `${step} ${object}: ${cause}`, {
      subject: object,
      kind: PERMANENT.has(reason) ? 'permanent' : 'transient',
      ...(options?.cause !== undefined ? { cause: options.cause } : {}),
    });
    this.reason = reason;
    this.step = step;
    this.object = object;
  }
}

/** Narrowing helper for callers that catch `unknown`. */
export function isMediaError(err: unknown): err is MediaError {
  return err instanceof MediaError;
}
