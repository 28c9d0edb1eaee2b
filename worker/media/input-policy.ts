/**
 * What ffmpeg may open when it reads an input. ffmpeg follows references found inside media: an HLS
 * or concat playlist named `clip.mp4` makes it open `/etc/passwd` or any URL. Every command that reads
 * a source therefore gets a protocol whitelist (local files only, or the network protocols only for
 * a URL, never both; only http and tcp for the worker's loopback media proxy) and a demuxer whitelist that excludes playlist-like demuxers
 * (hls, concat, dash, image2 patterns, tee...). After probing, the demuxer is also forced with `-f`.
 *
 * ffmpeg does not verify TLS certificates unless asked, so https sources get `-tls_verify 1`: the
 * system's CA store, or the bundle `SSL_CERT_FILE` names (the same variable the storage room's own
 * https client honours). Redirects stay within http(s): the protocol whitelist admits no other.
 */
import { resolve } from 'node:path';
import { redactUrl } from '../redact.ts';

/** Demuxers we accept for sources: real single-file containers and elementary streams. */
export const SOURCE_DEMUXERS: readonly string[] = [
  'mov', 'mp4', 'm4a', '3gp', '3g2', 'mj2', // the mov demuxer's names (drefs stay disabled by default)
  'matroska', 'webm',
  'avi', 'flv', 'mpegts', 'mpeg', 'mpegvideo', 'nut', 'ogg', 'asf', 'ivf', 'obu', 'mxf', 'dv',
  'm4v', 'h264', 'hevc', 'yuv4mpegpipe', 'gif', 'apng',
];

/** True when the input is an http(s) URL (a presigned object URL or an https input). */
export function isUrlInput(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/**
 * True for a plain-http URL on 127.0.0.1: the worker's own loopback media proxy (storage room),
 * which serves S3 objects and secret-bearing URLs. ffmpeg may then use only http over tcp: no
 * redirect can take it to TLS or another scheme.
 */
export function isLoopbackHttp(input: string): boolean {
  return /^http:\/\/127\.0\.0\.1:\d+\//.test(input);
}

/**
 * The name used for an input in logs and errors. URLs lose their query string and user info
 * (a presigned URL's signature is a credential); callers may pass the original `s3://` name instead.
 */
export function displayName(input: string, name?: string): string {
  if (name !== undefined && name !== '') return name;
  return redactUrl(input);
}


/**
 * The argument to give ffmpeg for a local path or URL. ffmpeg reads `name:` at the start of a path
 * as a protocol (`a:b.mp4` would be protocol `a`), so local paths are made absolute with `file:`.
 */
export function ffmpegUrl(input: string): string {
  return isUrlInput(input) ? input : `file:${resolve(input)}`;
}

/** First name of an ffprobe `format_name` ("mov,mp4,m4a,..." -> "mov"), usable with `-f`. */
export function demuxerOf(formatName: string): string {
  return formatName.split(',')[0] ?? formatName;
}

/** True when every name of an ffprobe `format_name` is outside the playlist family. */
export function isAllowedDemuxer(formatName: string): boolean {
  return formatName.split(',').some((n) => SOURCE_DEMUXERS.includes(n));
}

/**
 * ffmpeg/ffprobe input options for reading a source safely. `demuxer` (from a previous probe) forces
 * the demuxer instead of letting ffmpeg guess from the content.
 */
export function sourceInputOptions(input: string, demuxer?: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const opts = !isUrlInput(input)
    ? ['-protocol_whitelist', 'file']
    : [
        '-protocol_whitelist', isLoopbackHttp(input) ? 'http,tcp' : 'http,https,tcp,tls',
        // Reconnect on a dropped connection and on a 5xx answer (the media proxy's 503 when a
        // storage read failed transiently), backing off 0, 1, 3, 7 s... up to 8 s between tries.
        '-reconnect', '1', '-reconnect_on_network_error', '1', '-reconnect_on_http_error', '5xx', '-reconnect_delay_max', '8',
      ];
  // Only for https: ffmpeg refuses options no protocol of the input consumed.
  if (/^https:\/\//i.test(input)) {
    opts.push('-tls_verify', '1');
    const bundle = env['SSL_CERT_FILE'];
    if (bundle !== undefined && bundle !== '') opts.push('-ca_file', bundle);
  }
  opts.push('-format_whitelist', SOURCE_DEMUXERS.join(','));
  if (demuxer !== undefined) opts.push('-f', demuxer);
  return opts;
}
