import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stillFormatForName, stillFormatOf } from './still-format.ts';

describe('stillFormatOf', () => {
  const cases: { name: string; bytes: number[] | string; want: string | undefined }[] = [
    { name: 'a PNG signature', bytes: [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13], want: 'png' },
    { name: 'a JPEG start of image', bytes: [0xff, 0xd8, 0xff, 0xe0, 0, 16], want: 'jpeg' },
    { name: 'a RIFF WEBP header', bytes: 'RIFF\x10\x00\x00\x00WEBPVP8 ', want: 'webp' },
    { name: 'a RIFF AVI header (a video)', bytes: 'RIFF\x10\x00\x00\x00AVI LIST', want: undefined },
    { name: 'an MP4 ftyp box', bytes: '\x00\x00\x00\x18ftypisom', want: undefined },
    { name: 'a cut PNG signature', bytes: [0x89, 0x50, 0x4e], want: undefined },
    { name: 'nothing', bytes: [], want: undefined },
  ];
  for (const c of cases) {
    it(`reads ${c.name}`, () => {
      const bytes = typeof c.bytes === 'string' ? Buffer.from(c.bytes, 'latin1') : Uint8Array.from(c.bytes);
      assert.equal(stillFormatOf(bytes), c.want);
    });
  }
});

describe('stillFormatForName', () => {
  it('maps the still extensions, in any case, and nothing else', () => {
    assert.equal(stillFormatForName('a/b.PNG'), 'png');
    assert.equal(stillFormatForName('x.jpg'), 'jpeg');
    assert.equal(stillFormatForName('x.jpeg'), 'jpeg');
    assert.equal(stillFormatForName('x.webp?v=1'), 'webp');
    assert.equal(stillFormatForName('x.mp4'), undefined);
    assert.equal(stillFormatForName('png'), undefined);
  });
});
