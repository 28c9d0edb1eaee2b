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

/** swscale's name for a source colour matrix (ffprobe `color_space`); unknown gives BT.601, swscale's default. */
export function swsMatrix(colorSpace: string | null): string {
  switch (colorSpace) {
    case 'bt709':
    case 'fcc':
    case 'smpte170m':
    case 'smpte240m':
      return colorSpace;
    case 'bt470bg':
      return 'bt470';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    default:
      return 'bt601';
  }
}

/** swscale's name for a range (ffprobe `color_range`): `pc` is full range, anything else limited. */
export function swsRange(colorRange: string | null): 'pc' | 'tv' {
  return colorRange === 'pc' ? 'pc' : 'tv';
}
