/**
 * Which input the launcher probes early (ffmpeg-prefetch.ts): the `-i`/`--input` of a run when it is
 * a plain local path and not an image by name; never a URI, an option, or nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { localVideoInput } from './ffmpeg-prefetch.ts';

test('the input of a run, in each spelling commander takes', () => {
  assert.equal(localVideoInput(['-i', 'clip.mp4', '-o', 'x.mp4']), 'clip.mp4');
  assert.equal(localVideoInput(['-o', 'x.mp4', '--input', 'my film.mkv']), 'my film.mkv');
  assert.equal(localVideoInput(['--input=/v/a.webm', '--ep', 'cpu']), '/v/a.webm');
  assert.equal(localVideoInput(['-i', 'a.mp4', '-i', 'b.mp4']), 'b.mp4', 'the last one wins, as in commander');
});

test('no early probe for URIs, images, a missing value or arguments after --', () => {
  for (const args of [
    ['-i', 's3://bucket/clip.mp4'],
    ['-i', 'file:///v/clip.mp4'],
    ['-i', 'https://example.test/clip.mp4'],
    ['-i', 'photo.JPG'],
    ['-i', 'still.png'],
    ['-i'],
    ['-i', '--ep'],
    ['--', '-i', 'clip.mp4'],
    ['-o', 'x.mp4'],
  ]) {
    assert.equal(localVideoInput(args), undefined, args.join(' '));
  }
});
