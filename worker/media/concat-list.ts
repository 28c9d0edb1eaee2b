/**
 * The ffconcat list that joins shard files in plan order.
 *
 * Each shard's timestamps start at 0 (see `encode.ts`); the concat demuxer shifts file i by the sum
 * of the `duration`s before it. Each duration is the exact span of the shard's frames in the source,
 * `pts(end) - pts(start)`, written in whole microseconds as differences of rounded absolute offsets,
 * so rounding never accumulates: shard i starts at `round_us(pts(start_i) - pts(0))`, which the
 * demuxer converts back to the source tick exactly whenever a tick is longer than 2 us (every common
 * time base up to 1/90000 and beyond).
 */
import { ptsAt, type FrameIndex } from './frame-index.ts';
import type { Rational } from './probe-schema.ts';

export interface ShardFile {
  /** Absolute local path of the shard (NUT). */
  path: string;
  /** Source frames [start, end) the shard holds. */
  start: number;
  end: number;
}

/** Quotes a path for an ffconcat `file` line. */
export function quoteConcatPath(path: string): string {
  return `'${path.replace(/'/g, "'\\''")}'`;
}

/** The ffconcat text for shards already sorted by `start`. */
export function concatList(index: FrameIndex, timeBase: Rational, shards: readonly ShardFile[]): string {
  const origin = ptsAt(index, 0);
  const us = (frame: number): number => Math.round(((ptsAt(index, frame) - origin) * timeBase.num * 1_000_000) / timeBase.den);
  const lines = ['ffconcat version 1.0'];
  for (const s of shards) {
    lines.push(`file ${quoteConcatPath(s.path)}`, `duration ${us(s.end) - us(s.start)}us`);
  }
  return lines.join('\n') + '\n';
}
