/**
 * The arguments of the probe's first two ffprobe passes, which start side by side: the head
 * (format, streams, chapters and the first 10 s of packets, probe.ts) and the packet scan of the
 * first video stream (frame-scan.ts). Built here once for the probe and for the launcher, which
 * starts both for a local input while the command's modules load (bin/ffmpeg-prefetch.ts); the
 * probe then takes those runs over (ffprobe-run.ts matches them by their arguments). Imports
 * nothing heavy: it loads before everything else.
 */
import { ffmpegUrl, sourceInputOptions } from './input-policy.ts';

/**
 * The head pass. `-max_pixels`: finding the pixel format decodes a frame; a larger one is refused
 * before allocation. The packets of the first 10 s give each audio stream's first packet time.
 */
export function probeHeadArgs(input: string, maxPixels: number): string[] {
  return [
    ...sourceInputOptions(input), '-max_pixels', String(maxPixels),
    '-show_format', '-show_streams', '-show_chapters', '-read_intervals', '%+10', '-show_entries', 'packet=stream_index,pts_time',
    '-of', 'json', '-i', ffmpegUrl(input),
  ];
}

/** The demux-only packet scan of video stream `stream` (an index or a specifier such as `v:0`). */
export function packetScanArgs(input: string, demuxer: string | undefined, stream: number | string): string[] {
  return [...sourceInputOptions(input, demuxer), '-select_streams', String(stream), '-show_entries', 'packet=pts,duration,flags', '-of', 'compact=p=0', '-i', ffmpegUrl(input)];
}
