import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { packetsNeedDecode, sampleMatches, type PacketFacts } from './packet-count.ts';

const progressive: PacketFacts = { codec: 'h264', fieldOrder: 'progressive', pts: [0, 3, 1, 2], missingPts: false, discarded: 0, declaredFrames: null };

describe('packetsNeedDecode', () => {
  const cases: { name: string; facts: PacketFacts; want: RegExp | undefined }[] = [
    { name: 'progressive H.264 packets stand alone', facts: progressive, want: undefined },
    { name: 'VP9 without a field order stands alone (superframes hold their hidden frames)', facts: { ...progressive, codec: 'vp9', fieldOrder: undefined }, want: undefined },
    { name: 'interlaced H.264 is decoded: fields may be separate packets', facts: { ...progressive, fieldOrder: 'tt' }, want: /field order tt/ },
    { name: 'H.264 with no field order is decoded', facts: { ...progressive, fieldOrder: undefined }, want: /field order unknown/ },
    { name: 'VP8 is decoded: alt-ref packets show no frame', facts: { ...progressive, codec: 'vp8' }, want: /codec vp8/ },
    { name: 'MPEG-4 Part 2 is decoded: packed B-frames', facts: { ...progressive, codec: 'mpeg4' }, want: /codec mpeg4/ },
    { name: 'packets without timestamps are decoded', facts: { ...progressive, missingPts: true }, want: /without timestamps/ },
    { name: 'edit-list-discarded packets are decoded', facts: { ...progressive, discarded: 2 }, want: /edit list/ },
    { name: 'a container frame count that disagrees with the packets is decoded', facts: { ...progressive, declaredFrames: 5 }, want: /states 5 frames, the packets 4/ },
    { name: 'duplicate packet timestamps are decoded', facts: { ...progressive, pts: [0, 1, 1, 2] }, want: /duplicate/ },
    { name: 'no packets at all are decoded', facts: { ...progressive, pts: [] }, want: /no video packets/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const why = packetsNeedDecode(c.facts);
      if (c.want === undefined) assert.equal(why, undefined);
      else assert.match(why ?? '', c.want);
    });
  }
});

describe('sampleMatches', () => {
  it('accepts the first packets decoded to exactly their timestamps, in display order', () => {
    assert.equal(sampleMatches([0, 3, 1, 2, 6, 4, 5], 4, [0, 1, 2, 3]), true);
  });
  it('accepts a stream shorter than the sample', () => {
    assert.equal(sampleMatches([0, 2, 1], 48, [0, 1, 2]), true);
  });
  it('rejects a packet that decoded to no frame', () => {
    assert.equal(sampleMatches([0, 3, 1, 2], 4, [0, 1, 3]), false);
  });
  it('rejects two frames from one packet (a field pair counted once, or a frame from outside the sample)', () => {
    assert.equal(sampleMatches([0, 2, 4], 3, [0, 1, 2, 4]), false);
    assert.equal(sampleMatches([0, 2, 4], 3, [0, 2, 5]), false);
  });
  it('rejects a duplicated decoded timestamp', () => {
    assert.equal(sampleMatches([0, 1, 2], 3, [0, 1, 1]), false);
  });
});
