import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { buildFrameIndex } from './frame-index.ts';
import { parseFrames, parseTime, segmentSchema, selectSegment, spanSeconds, TASK_SEGMENT_NAMES } from './segment.ts';

// 25 fps in MP4's usual 1/12800 time base, starting at pts 1024 (0.08 s): 50 frames, 2 s.
const tb = { num: 1, den: 12800 };
const cfr = buildFrameIndex(Array.from({ length: 50 }, (_, i) => 1024 + i * 512), new Set([1024]), 512);
// Variable frame rate in ms: frames at 0, 40, 80, then 200, 210, 220 (a burst after a gap).
const ms = { num: 1, den: 1000 };
const vfr = buildFrameIndex([0, 40, 80, 200, 210, 220], new Set([0]), 10);

function invalid(option: string): (error: unknown) => boolean {
  return (error) => error instanceof UpscaleError && error.code === 'InvalidArgument' && error.message.includes(option);
}

describe('parseTime', () => {
  it('reads seconds, MM:SS and HH:MM:SS.mmm', () => {
    assert.equal(parseTime('12.5', '--start'), 12.5);
    assert.equal(parseTime('0', '--start'), 0);
    assert.equal(parseTime('1:02.5', '--start'), 62.5);
    assert.equal(parseTime('01:02:03.250', '--start'), 3723.25);
  });

  it('refuses words, negatives, units and 60 seconds in a clock time, naming the option', () => {
    for (const bad of ['abc', '-1', '5s', '1:60', '1:2:3:4', '', '1e3']) {
      assert.throws(() => parseTime(bad, '--duration'), invalid('--duration'), bad);
    }
  });
});

describe('segmentSchema', () => {
  it('refuses a zero duration and duration with frames together', () => {
    assert.equal(segmentSchema.safeParse({ duration: 0 }).success, false);
    assert.equal(segmentSchema.safeParse({ duration: 1, frames: 3 }).success, false);
    assert.equal(segmentSchema.safeParse({ start: 1, frames: 3 }).success, true);
  });
});

describe('selectSegment', () => {
  it('selects the whole video for an empty segment', () => {
    assert.deepEqual(selectSegment(cfr, tb, {}), { first: 0, end: 50 });
  });

  it('counts time from the first frame, start inclusive and end exclusive', () => {
    // 0.4 s is frame 10 exactly; 1 s later is frame 35, which is left out.
    assert.deepEqual(selectSegment(cfr, tb, { start: 0.4, duration: 1 }), { first: 10, end: 35 });
  });

  it('starts at the first frame at or after a start between frames', () => {
    assert.deepEqual(selectSegment(cfr, tb, { start: 0.41, frames: 3 }), { first: 11, end: 14 });
  });

  it('stops at the last frame when duration or frames run past the end', () => {
    assert.deepEqual(selectSegment(cfr, tb, { start: 1.48, duration: 10 }), { first: 37, end: 50 });
    assert.deepEqual(selectSegment(cfr, tb, { start: 1.48, frames: 100 }), { first: 37, end: 50 });
  });

  it('selects by timestamp on a variable-frame-rate source', () => {
    // [0.05, 0.21): the frames at 80, 200 ms; 210 ms is the end, left out.
    assert.deepEqual(selectSegment(vfr, ms, { start: 0.05, duration: 0.16 }), { first: 2, end: 4 });
    const span = spanSeconds(vfr, ms, { first: 2, end: 4 });
    assert.equal(span.start, 0.08);
    assert.ok(Math.abs(span.duration - 0.13) < 1e-9, String(span.duration));
  });

  it('refuses a start at or after the last frame, naming --start and the length', () => {
    assert.throws(() => selectSegment(cfr, tb, { start: 2 }), (e) => invalid('--start')(e) && /2s long/.test((e as Error).message));
    assert.throws(() => selectSegment(cfr, tb, { start: 1.97 }), invalid('--start'));
  });

  it('refuses a duration that falls between two frames, naming --duration', () => {
    assert.throws(() => selectSegment(vfr, ms, { start: 0.1, duration: 0.05 }), invalid('--duration'));
  });

  it('names task fields when asked to', () => {
    assert.throws(() => selectSegment(cfr, tb, { start: 5 }, TASK_SEGMENT_NAMES), invalid('segment.start'));
  });
});

describe('parseFrames', () => {
  it('reads a count and an inclusive range', () => {
    assert.deepEqual(parseFrames('24'), { frames: 24 });
    assert.deepEqual(parseFrames('10-19'), { firstFrame: 10, frames: 10 });
    assert.deepEqual(parseFrames('7-7'), { firstFrame: 7, frames: 1 });
  });

  it('refuses zero, a reversed range and words, naming --frames', () => {
    for (const bad of ['0', '9-3', 'a-b', '-3', '1.5', '']) assert.throws(() => parseFrames(bad), invalid('--frames'), bad);
  });
});

describe('selectSegment by frame number', () => {
  it('starts at the given frame', () => {
    assert.deepEqual(selectSegment(cfr, tb, { firstFrame: 10, frames: 5 }), { first: 10, end: 15 });
    assert.deepEqual(selectSegment(vfr, ms, { firstFrame: 3, duration: 0.015 }), { first: 3, end: 5 });
  });

  it('refuses a first frame past the last, naming the option', () => {
    assert.throws(() => selectSegment(cfr, tb, { firstFrame: 50, frames: 1 }), (e) => invalid('--frames')(e) && /50 frames/.test((e as Error).message));
  });

  it('refuses start with firstFrame in a task', () => {
    assert.equal(segmentSchema.safeParse({ start: 1, firstFrame: 3 }).success, false);
  });
});
