/**
 * Turns a caller's frame into the packed 8-bit RGB the models take: checks its size, converts
 * 16-bit samples (ffmpeg's rgb48le, for 10-bit sources) to 8 bits, and applies the optional crop.
 */
import type { Rect } from './tile-plan.ts';
import { extractRect, RGB_CHANNELS } from './stitch.ts';

/** A decoded frame: packed RGB, 8 bits per sample (rgb24) or 16 (rgb48le, little-endian). */
export interface InputFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Position in the source (0-based); reported with any error about this frame. */
  readonly index: number;
  /** Bits per sample of `data`: 8 (default) or 16. */
  readonly bitDepth?: 8 | 16;
}

/** Packed 8-bit RGB ready for tiling. */
export interface PreparedFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly index: number;
}

let to8bit: Uint8Array | undefined;

/**
 * 16 -> 8 bits by rounding v*255/65535, through a 64 KiB lookup table built once: one table read
 * per sample, much cheaper than the model. This drops the extra precision of 10-bit sources; the
 * models are 8-bit in and out, so nothing downstream could have used it.
 */
export function samples16To8(data: Uint8Array): Uint8Array {
  if (to8bit === undefined) {
    to8bit = new Uint8Array(65536);
    for (let v = 0; v < 65536; v++) to8bit[v] = Math.round((v * 255) / 65535);
  }
  const table = to8bit;
  const count = data.byteLength >> 1;
  const out = new Uint8Array(count);
  // rgb48le is little-endian; a DataView read is endian-explicit and avoids alignment issues.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let i = 0; i < count; i++) out[i] = table[view.getUint16(i * 2, true)] ?? 0;
  return out;
}

/** Why the frame cannot be used (a message for the caller's error), or undefined. */
export function frameProblem(frame: InputFrame, crop: Rect | undefined): string | undefined {
  const { width, height, data } = frame;
  const depth = frame.bitDepth ?? 8;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) return `size ${width}x${height} is not a positive integer size`;
  if (depth !== 8 && depth !== 16) return `bit depth ${String(depth)} is neither 8 nor 16`;
  const expected = width * height * RGB_CHANNELS * (depth / 8);
  if (data.byteLength !== expected) return `holds ${data.byteLength} bytes, but ${width}x${height} packed RGB at ${depth} bits needs ${expected}`;
  if (crop !== undefined) {
    const inside = crop.x >= 0 && crop.y >= 0 && crop.width > 0 && crop.height > 0 && crop.x + crop.width <= width && crop.y + crop.height <= height;
    if (!inside) return `crop ${crop.width}x${crop.height}+${crop.x}+${crop.y} does not fit inside ${width}x${height}`;
  }
  return undefined;
}

/** Converts to 8 bits and crops; the frame must have passed `frameProblem`. */
export function prepareFrame(frame: InputFrame, crop: Rect | undefined): PreparedFrame {
  const data8 = (frame.bitDepth ?? 8) === 16 ? samples16To8(frame.data) : frame.data;
  if (crop === undefined || (crop.x === 0 && crop.y === 0 && crop.width === frame.width && crop.height === frame.height)) {
    return { data: data8, width: frame.width, height: frame.height, index: frame.index };
  }
  const out = new Uint8Array(crop.width * crop.height * RGB_CHANNELS);
  extractRect(data8, frame.width, crop, out, 0);
  return { data: out, width: crop.width, height: crop.height, index: frame.index };
}
