/**
 * Pure arithmetic of the output size: from the (cropped) input size, the model's scale and the
 * requested output (a scale such as 2 with an x4 model, or a target size), the exact per-axis
 * ratios the tiles are placed with and whether the session needs the appended Resize.
 */
import type { Ratio } from './stitch.ts';

/** What the caller asks for: a scale factor, or an exact target size. Absent = the model's scale. */
export type OutputRequest = { readonly scale: number } | { readonly width: number; readonly height: number };

export interface OutputGeometry {
  readonly width: number;
  readonly height: number;
  /** Output pixels per input pixel, reduced fractions. */
  readonly rx: Ratio;
  readonly ry: Ratio;
  /** True when the output differs from the model's native scale (the graph then ends in a Resize). */
  readonly resize: boolean;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** The reduced fraction `num/den`. */
export function ratio(num: number, den: number): Ratio {
  const g = gcd(num, den);
  return { num: num / g, den: den / g };
}

/**
 * Computes the output size and ratios.
 * @throws RangeError when the request gives a non-integer or non-positive size or scale
 */
export function outputGeometry(inputWidth: number, inputHeight: number, modelScale: number, request?: OutputRequest): OutputGeometry {
  let width: number;
  let height: number;
  if (request === undefined) {
    width = inputWidth * modelScale;
    height = inputHeight * modelScale;
  } else if ('scale' in request) {
    if (!Number.isInteger(request.scale) || request.scale < 1) {
      throw new RangeError(`output scale ${request.scale} is not a positive integer`);
    }
    width = inputWidth * request.scale;
    height = inputHeight * request.scale;
  } else {
    width = request.width;
    height = request.height;
    if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
      throw new RangeError(`output size ${width}x${height} is not a positive integer size`);
    }
  }
  const rx = ratio(width, inputWidth);
  const ry = ratio(height, inputHeight);
  const native = rx.den === 1 && ry.den === 1 && rx.num === modelScale && ry.num === modelScale;
  return { width, height, rx, ry, resize: !native };
}
