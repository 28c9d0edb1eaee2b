/**
 * Copies between packed RGB frames and model tensors: cutting a window out of a frame into a slot
 * of a batch tensor, and pasting the part of a tile's output that covers its core into the output
 * frame. Both are row copies (`TypedArray.set`), the cheapest way to move bytes in JavaScript.
 */
import type { Rect, Tile } from './tile-plan.ts';

/** Samples per pixel of the packed RGB layout used everywhere in the engine. */
export const RGB_CHANNELS = 3;

/** Bytes per pixel of packed RGB at `bitDepth` bits per sample: 3 (rgb24) or 6 (rgb48le). */
export function pixelBytes(bitDepth: 8 | 16): number {
  return bitDepth === 16 ? 2 * RGB_CHANNELS : RGB_CHANNELS;
}

/** Output pixels per input pixel, as an exact fraction per axis. */
export interface Ratio {
  readonly num: number;
  readonly den: number;
}

/** Maps an input coordinate to the output grid (exact: coordinates are multiples of `den`). */
export function scaleCoordinate(value: number, ratio: Ratio): number {
  return (value * ratio.num) / ratio.den;
}

/**
 * Copies `rect` of a packed RGB frame into `target` at `targetOffset` (bytes), packed.
 * `bytesPerPixel` is 3 for 8-bit samples and 6 for 16-bit ones (see `pixelBytes`).
 */
export function extractRect(frame: Uint8Array, frameWidth: number, rect: Rect, target: Uint8Array, targetOffset: number, bytesPerPixel = RGB_CHANNELS): void {
  const rowBytes = rect.width * bytesPerPixel;
  for (let row = 0; row < rect.height; row++) {
    const from = ((rect.y + row) * frameWidth + rect.x) * bytesPerPixel;
    target.set(frame.subarray(from, from + rowBytes), targetOffset + row * rowBytes);
  }
}

/** Where a tile's output goes: the core, mapped to output pixels, inside the window's output. */
export interface OutputPlacement {
  /** Size of the whole window's output. */
  readonly windowWidth: number;
  readonly windowHeight: number;
  /** The core's rectangle inside the window output. */
  readonly source: Rect;
  /** The core's rectangle inside the output frame. */
  readonly target: Rect;
}

/** Computes where a tile's output lands, for output ratios `rx` and `ry` (output/input). */
export function placeTile(tile: Tile, rx: Ratio, ry: Ratio): OutputPlacement {
  const sx = (v: number): number => scaleCoordinate(v, rx);
  const sy = (v: number): number => scaleCoordinate(v, ry);
  const target = { x: sx(tile.core.x), y: sy(tile.core.y), width: sx(tile.core.x + tile.core.width) - sx(tile.core.x), height: sy(tile.core.y + tile.core.height) - sy(tile.core.y) };
  return {
    windowWidth: sx(tile.window.width),
    windowHeight: sy(tile.window.height),
    source: { x: target.x - sx(tile.window.x), y: target.y - sy(tile.window.y), width: target.width, height: target.height },
    target,
  };
}

/**
 * Pastes `placement.source` of one tile output (packed RGB at `tileOffset` bytes in `tileOutput`)
 * into the output frame at `placement.target`; `bytesPerPixel` as for `extractRect`.
 */
export function pasteTile(tileOutput: Uint8Array, tileOffset: number, placement: OutputPlacement, frame: Uint8Array, frameWidth: number, bytesPerPixel = RGB_CHANNELS): void {
  const { source, target, windowWidth } = placement;
  const rowBytes = source.width * bytesPerPixel;
  for (let row = 0; row < source.height; row++) {
    const from = tileOffset + ((source.y + row) * windowWidth + source.x) * bytesPerPixel;
    const to = ((target.y + row) * frameWidth + target.x) * bytesPerPixel;
    frame.set(tileOutput.subarray(from, from + rowBytes), to);
  }
}
