/**
 * Raw frame layouts exchanged with the engine: packed RGB, 8 bits (`rgb24`) for 8-bit sources and
 * 16 bits little-endian (`rgb48le`) for deeper ones, so 10/12-bit sources keep their precision.
 */
import type { Probe } from './probe-schema.ts';

export type RgbFormat = 'rgb24' | 'rgb48le';

/** The layout extraction uses for a source: 16-bit RGB when the source has more than 8 bits. */
export function rgbFormatFor(probe: Pick<Probe, 'video'>): RgbFormat {
  return probe.video.bitDepth > 8 ? 'rgb48le' : 'rgb24';
}

/** Bytes per pixel of a layout (3 or 6). */
export function bytesPerPixel(format: RgbFormat): number {
  return format === 'rgb24' ? 3 : 6;
}

/** Bytes of one `width` x `height` frame. */
export function frameBytes(width: number, height: number, format: RgbFormat): number {
  return width * height * bytesPerPixel(format);
}
