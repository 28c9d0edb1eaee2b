/**
 * Byte ranges `[start, end)` as the storage API takes them, checked once and turned into the HTTP
 * `Range` header (whose end is inclusive) for S3.
 */
import { UpscaleError } from '../errors.ts';
import type { ByteRange } from './types.ts';

/** Throws a permanent `InvalidArgument` unless `range` is a non-negative, non-inverted integer range. */
export function checkRange(range: ByteRange): void {
  const { start, end } = range;
  const valid =
    Number.isSafeInteger(start) && start >= 0 && (end === undefined || (Number.isSafeInteger(end) && end >= start));
  if (!valid) {
    throw new UpscaleError('InvalidArgument', `invalid byte range [${start}, ${end ?? ''}): want 0 <= start <= end`, {
      subject: 'range',
    });
  }
}

/** The HTTP Range header for `range`, or undefined for the whole object. */
export function rangeHeader(range: ByteRange | undefined): string | undefined {
  if (range === undefined) return undefined;
  checkRange(range);
  return range.end === undefined ? `bytes=${range.start}-` : `bytes=${range.start}-${range.end - 1}`;
}
