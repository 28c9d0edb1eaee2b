import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deinterlaceFilters, isInterlaced } from './interlace.ts';

describe('deinterlaceFilters', () => {
  const cases: [string, string | null, 'auto' | 'off', string[]][] = [
    ['each interlaced field order is deinterlaced with the parity of the decoded frames', 'tt', 'auto', ['bwdif=mode=send_frame:parity=auto:deint=all', 'settb=expr=intb*2']],
    ['bottom first too', 'bb', 'auto', ['bwdif=mode=send_frame:parity=auto:deint=all', 'settb=expr=intb*2']],
    ['and the swapped orders (ffmpeg writes tb for top first)', 'tb', 'auto', ['bwdif=mode=send_frame:parity=auto:deint=all', 'settb=expr=intb*2']],
    ['off keeps the fields', 'tt', 'off', []],
    ['progressive needs nothing', 'progressive', 'auto', []],
    ['an unknown field order is taken for progressive', null, 'auto', []],
  ];
  for (const [name, order, mode, want] of cases) it(name, () => assert.deepEqual(deinterlaceFilters(order, mode), want));
  it('knows which field orders are interlaced', () => {
    assert.deepEqual(['tt', 'bb', 'tb', 'bt', 'progressive', null].map(isInterlaced), [true, true, true, true, false, false]);
  });
});
