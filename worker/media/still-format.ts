/**
 * Still image formats `upscale run` reads and writes (PNG, JPEG, WebP): told apart by their first
 * bytes (a photo named `.mp4` is still a photo) and, for the output, by the extension. Pure.
 */
import { extname } from 'node:path';

export type StillFormat = 'png' | 'jpeg' | 'webp';

/** Output extensions of each still format. */
const EXTENSIONS: Record<string, StillFormat> = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp' };

/** Supported still output extensions, for messages. */
export const STILL_EXTENSIONS: readonly string[] = Object.keys(EXTENSIONS);

/** Bytes {@link stillFormatOf} needs. */
export const STILL_SNIFF_BYTES = 16;

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The still format the bytes start with, or undefined (a video, or something else). */
export function stillFormatOf(head: Uint8Array): StillFormat | undefined {
  const b = Buffer.from(head.buffer, head.byteOffset, head.byteLength);
  if (b.length >= 8 && b.subarray(0, 8).equals(PNG_SIGNATURE)) {
    // An animated PNG (acTL before IDAT) is still decoded as its first frame by ffmpeg's png demuxer.
    return 'png';
  }
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  if (b.length >= 12 && b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP') return 'webp';
  return undefined;
}

/** The still format an output name asks for, from its extension; undefined for any other. */
export function stillFormatForName(name: string): StillFormat | undefined {
  return EXTENSIONS[extname(name.replace(/[?#].*$/, '')).toLowerCase()];
}

/** The ffmpeg encoder that writes each format. */
export const STILL_ENCODERS: Record<StillFormat, string> = { png: 'png', jpeg: 'mjpeg', webp: 'libwebp' };
