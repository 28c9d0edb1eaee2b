import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { clip } from '../../test/fixtures/clips.ts';
import { MediaError } from './errors.ts';
import { probe } from './probe.ts';
import { startsLikeIsoBmff } from './sniff.ts';

test('a box header tells an MP4 from text', () => {
  assert.equal(startsLikeIsoBmff(Buffer.from('\0\0\0\x20ftypisom')), true);
  assert.equal(startsLikeIsoBmff(Buffer.from('this is not a video')), false);
  assert.equal(startsLikeIsoBmff(Buffer.from('\0\0')), false);
});

test('a text file named .mp4 is "not a video", a cut MP4 is "truncated" (ffprobe says moov atom not found for both)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'upscale-sniff-'));
  try {
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video\n'.repeat(100));
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, (await readFile(await clip('basic'))).subarray(0, 20_000));
    await assert.rejects(probe(text), (e: unknown) => e instanceof MediaError && e.reason === 'NotAVideo' && /not a video file/.test(e.message));
    await assert.rejects(probe(cut), (e: unknown) => e instanceof MediaError && e.reason === 'TruncatedInput');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
