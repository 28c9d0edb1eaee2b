/**
 * The media room's one error class. Every failure that leaves `worker/media` is a {@link MediaError}
 * with a stable `code`, the `step` that failed, the `object` it failed on (an input or output name,
 * never a presigned URL with its signature) and whether retrying can help (`permanent`).
 */

/** Stable codes; the step drivers map `permanent` to the permanent/transient exit codes. */
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

/** An error from the media room: `message` is `<step> <object>: <cause>`. */
export class MediaError extends Error {
  override readonly name = 'MediaError';
  readonly code: MediaErrorCode;
  readonly step: MediaStep;
  readonly object: string;
  /** True when retrying the same step with the same input cannot succeed. */
  readonly permanent: boolean;

  constructor(
    code: MediaErrorCode,
    step: MediaStep,
    object: string,
    cause: string,
    options?: { cause?: unknown },
  ) {
    super(`${step} ${object}: ${cause}`, options);
    this.code = code;
    this.step = step;
    this.object = object;
    this.permanent = PERMANENT.has(code);
  }
}

/** Narrowing helper for callers that catch `unknown`. */
export function isMediaError(err: unknown): err is MediaError {
  return err instanceof MediaError;
}
