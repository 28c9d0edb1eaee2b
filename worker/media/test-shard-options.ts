/**
 * Tests' encode options for an identity "upscale" of frames `[start, end)` of a probed source: the
 * frames keep their size, format and timing. `veryfast` keeps B-frames (ultrafast has none), so
 * shards have a decoding delay; SVT-AV1's fastest preset is 12.
 */
import { sourceTiming, type EncodeOptions } from './encode.ts';
import type { VideoCodec } from './encoders.ts';
import type { Probe } from './probe-schema.ts';
import { rgbFormatFor } from './raw-format.ts';

export function identityShardOptions(p: Probe, start: number, end: number, output: string, codec: VideoCodec): EncodeOptions {
  return {
    output,
    width: p.video.displayWidth,
    height: p.video.displayHeight,
    format: rgbFormatFor(p),
    ...sourceTiming(p, start, end),
    codec,
    preset: codec === 'av1' ? '12' : 'veryfast',
  };
}
