/**
 * Turns ffmpeg/ffprobe stderr into a classified {@link MediaError}. ffmpeg reports everything as
 * text, so classification is by the messages libavformat prints; anything unrecognised becomes
 * `FfmpegFailed`, which is treated as transient.
 */
import { MediaError, type MediaErrorCode, type MediaStep } from './errors.ts';
import { redactUrlsIn } from '../redact.ts';

/** What `upscale` reads, for messages about inputs it does not. */
export const SUPPORTED_INPUTS = 'one video file (MP4, MOV, MKV, WebM, AVI, MPEG-TS, FLV, NUT, Ogg, MXF, animated GIF or APNG...)';

const RULES: readonly { re: RegExp; code: MediaErrorCode; cause: (m: RegExpMatchArray, stderr: readonly string[]) => string }[] = [
  // First: a full disk makes later lines (e.g. a short read back) look like other failures.
  {
    re: /(?:Error writing trailer of|Error closing file) (?:file:)?(.+?): (No space left on device|Disk quota exceeded)/,
    code: 'NoSpace',
    cause: (m) => `${noSpace(m[2])} writing ${m[1] ?? 'the output'}: free space there (or give it a larger disk) and retry`,
  },
  {
    re: /No space left on device|Disk quota exceeded/,
    code: 'NoSpace',
    cause: (m) => `${noSpace(m[0])} writing the output: free space there (or give it a larger disk) and retry`,
  },
  // Image demuxers (png_pipe, jpeg_pipe, image2...) are off the whitelist because image2 expands
  // patterns; the reason a user needs is that a still image is not a video. `upscale run` sniffs a
  // local still before this and takes it; cluster jobs (the step commands) and remote inputs do not.
  {
    re: /\[(\w+)_pipe @ [^\]]*\] Format not on whitelist|\[(image2) @ [^\]]*\] Format not on whitelist/,
    code: 'UnsupportedInput',
    cause: (m) => `the input is a still image (${m[1] ?? m[2] ?? 'image'}), not a video: cluster jobs and remote inputs take ${SUPPORTED_INPUTS}; for a PNG, JPEG or WebP image run \`upscale run\` on a local copy`,
  },
  { re: /Is a directory/, code: 'UnsupportedInput', cause: () => `the input is a directory, not a video file: upscale reads ${SUPPORTED_INPUTS}` },
  {
    re: /\[(\w+) @ [^\]]*\] Format not on whitelist|Format not on whitelist/,
    code: 'UnsafeInput',
    cause: (m) => `refusing to read a ${m[1] ?? 'playlist or unsupported'} file: ffmpeg would follow references inside it (only single media files are accepted)`,
  },
  // ffmpeg 7.1 (and later 6.x/7.0 point releases) no longer probe a playlist in a file not named .m3u8.
  {
    re: /Not detecting m3u8\/hls with non standard extension/,
    code: 'UnsafeInput',
    cause: () => 'refusing to read a hls file: ffmpeg would follow references inside it (only single media files are accepted)',
  },
  { re: /Protocol '([^']*)' not on whitelist/, code: 'UnsafeInput', cause: (m) => `the input refers to another resource through protocol '${m[1] ?? '?'}', which is not allowed` },
  { re: /not in allowed_segment_extensions/, code: 'UnsafeInput', cause: () => 'the input is a playlist that refers to other files' },
  { re: /No such file or directory/, code: 'InputNotFound', cause: () => 'the file does not exist' },
  { re: /Server returned 404|HTTP error 404/, code: 'InputNotFound', cause: () => 'the object does not exist (HTTP 404)' },
  { re: /Server returned 403|HTTP error 403|Server returned 401/, code: 'InputForbidden', cause: (m) => `access denied (${m[0]}: wrong credentials or an expired presigned URL)` },
  {
    re: /Peer certificate failed verification|certificate's owner does not match hostname|Unable to verify peer certificate/,
    code: 'InputForbidden',
    cause: () => "the server's TLS certificate failed verification (untrusted, expired or for another host; a private CA needs SSL_CERT_FILE)",
  },
  { re: /moov atom not found/, code: 'TruncatedInput', cause: () => 'the file is truncated or incomplete (no moov index: was the upload or recording interrupted?)' },
  { re: /partial file|File ended prematurely|ended prematurely|Truncating packet|end of file reached before/i, code: 'TruncatedInput', cause: () => 'the file is truncated (it ends in the middle of the media data)' },
  {
    re: /Invalid data found when processing input|could not find codec parameters|EBML header parsing failed|Unknown input format/,
    code: 'NotAVideo',
    cause: () => 'not a video file ffmpeg can read (invalid data found when processing input)',
  },
  // GPU encoder trouble (busy, out of sessions) is worth a retry; other encoder refusals are settings.
  { re: /OpenEncodeSessionEx failed|No capable devices found|CUDA_ERROR_\w+/, code: 'FfmpegFailed', cause: (m) => `the GPU encoder failed (${m[0]})` },
  {
    re: /Error setting preset|Unrecognized option '[^']*'|Error while opening encoder|Error applying encoder options|Invalid encoder parameter/,
    code: 'InvalidOptions',
    cause: (m, stderr) => `the encoder rejected its settings (${m[0]})${encoderSaid(stderr, m[0])}`,
  },
  {
    re: /Connection refused|Connection timed out|timed out|Network is unreachable|Server returned 5(?:\d\d|XX)|Temporary failure in name resolution|Connection reset/,
    code: 'InputUnreachable',
    cause: () => 'network error while reading the input',
  },
];

/**
 * What the encoder itself printed before ffmpeg's generic refusal (`[libopus @ 0x...] Invalid
 * channel layout 5.1(side) for specified mapping family -1.`), as `: libopus: <text>`; empty when
 * it printed nothing.
 */
function encoderSaid(stderr: readonly string[], refusal: string): string {
  const at = stderr.findIndex((l) => l.includes(refusal));
  const before = at < 0 ? stderr : stderr.slice(0, at);
  for (let i = before.length - 1; i >= 0; i--) {
    const m = /^\[(?:[^\]\/]*\/)?([\w-]+) @ 0x[0-9a-f]+\] (.+)$/.exec(before[i] ?? '');
    if (m && !/^(?:Stream|Output|Input|Error initializing|Terminating)/.test(m[2] ?? '')) return `: ${m[1]}: ${redactUrlsIn((m[2] ?? '').trim())}`;
  }
  return '';
}

function noSpace(text: string | undefined): string {
  return text === 'Disk quota exceeded' ? 'disk quota exceeded (EDQUOT)' : 'no space left on device (ENOSPC)';
}

/**
 * Whether an ffmpeg stderr line reports that writing its output failed. ffmpeg 5.1 still exits 0
 * after `Error writing trailer of <file>: No space left on device`, leaving a truncated file.
 */
export function isWriteFailure(line: string): boolean {
  return /No space left on device|Disk quota exceeded|Error writing trailer of|Error closing file/.test(line);
}

/** Last lines of ffmpeg output that are worth quoting: no progress lines, no per-frame showinfo. */
export function stderrTail(lines: readonly string[], max = 6): string {
  const useful = lines.filter((l) => l.trim() !== '' && !l.includes('Parsed_showinfo') && !l.startsWith('frame='));
  return redactUrlsIn(useful.slice(-max).join(' | '));
}

/**
 * Classifies a failed ffmpeg/ffprobe run. `object` is the display name of the input or output,
 * `stderr` the captured lines. The ffmpeg text is kept in the message tail for diagnosis.
 */
export function classifyFailure(
  step: MediaStep,
  object: string,
  stderr: readonly string[],
  what: string,
  cause?: unknown,
): MediaError {
  const text = stderr.join('\n');
  for (const rule of RULES) {
    const m = text.match(rule.re);
    if (m) return new MediaError(rule.code, step, object, rule.cause(m, stderr), { cause });
  }
  return new MediaError('FfmpegFailed', step, object, `${what} failed: ${stderrTail(stderr) || 'no error output'}`, { cause });
}

/** Finds a truncation message in stderr of a run that otherwise succeeded (ffprobe exits 0). */
export function truncationIn(stderr: readonly string[]): string | undefined {
  return stderr.find((l) => /partial file|File ended prematurely|ended prematurely|Truncating packet/i.test(l));
}
