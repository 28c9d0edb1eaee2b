/**
 * Turns a caller's frame into the packed RGB its model takes: checks its size, converts its
 * samples to the model's depth when they differ (sample-depth.ts: 16-bit frames into an 8-bit
 * model are dithered), and applies the optional crop.
 */
import { convertDepth } from './sample-depth.ts';
import type { Rect } from './tile-plan.ts';
import { extractRect, pixelBytes, RGB_CHANNELS } from './stitch.ts';

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

/** Packed RGB at the model's depth, ready for tiling. */
export interface PreparedFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly index: number;
  /** Bits per sample of `data`: the model's (8 for uint8 models, 16 for uint16 ones). */
  readonly bitDepth: 8 | 16;
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

/** Converts to the model's depth and crops; the frame must have passed `frameProblem`. */
export function prepareFrame(frame: InputFrame, crop: Rect | undefined, modelDepth: 8 | 16 = 8): PreparedFrame {
  const data = convertDepth(frame.data, frame.width, frame.bitDepth ?? 8, modelDepth);
  if (crop === undefined || (crop.x === 0 && crop.y === 0 && crop.width === frame.width && crop.height === frame.height)) {
    return { data, width: frame.width, height: frame.height, index: frame.index, bitDepth: modelDepth };
  }
  const bytes = pixelBytes(modelDepth);
  const out = new Uint8Array(crop.width * crop.height * bytes);
  extractRect(data, frame.width, crop, out, 0, bytes);
  return { data: out, width: crop.width, height: crop.height, index: frame.index, bitDepth: modelDepth };
}
