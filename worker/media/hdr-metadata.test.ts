import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hdrMetadataFrom, withHdrParams, x265HdrParams } from './hdr-metadata.ts';

// As ffprobe -show_frames prints a PQ HEVC frame's side data.
const SIDE_DATA = [
  {
    side_data_type: 'Mastering display metadata',
    red_x: '34000/50000', red_y: '16000/50000', green_x: '13250/50000', green_y: '34500/50000', blue_x: '7500/50000', blue_y: '3000/50000',
    white_point_x: '15635/50000', white_point_y: '16450/50000', min_luminance: '50/10000', max_luminance: '10000000/10000',
  },
  { side_data_type: 'Content light level metadata', max_content: 1000, max_average: 400 },
  { side_data_type: 'H.26[45] User Data Unregistered SEI message' },
];

describe('HDR10 metadata', () => {
  it('reads mastering display and content light level into x265 parameters', () => {
    assert.deepEqual(x265HdrParams(hdrMetadataFrom(SIDE_DATA)), ['hdr10=1', 'master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)', 'max-cll=1000,400']);
  });
  it('keeps content light level alone', () => {
    assert.deepEqual(x265HdrParams(hdrMetadataFrom([SIDE_DATA[1]])), ['hdr10=1', 'max-cll=1000,400']);
  });
  it('gives nothing for frames without it, or malformed side data', () => {
    assert.equal(hdrMetadataFrom([SIDE_DATA[2]]), null);
    assert.equal(hdrMetadataFrom(undefined), null);
    assert.equal(hdrMetadataFrom([{ ...SIDE_DATA[0], red_x: 'n/a' }]), null);
  });
  it('appends to libx265 parameters and leaves other encoders alone', () => {
    const hdr = hdrMetadataFrom([SIDE_DATA[1]]);
    assert.deepEqual(withHdrParams(['-c:v', 'libx265', '-x265-params', 'log-level=error'], hdr), ['-c:v', 'libx265', '-x265-params', 'log-level=error:hdr10=1:max-cll=1000,400']);
    assert.deepEqual(withHdrParams(['-c:v', 'libx264', '-crf', '18'], hdr), ['-c:v', 'libx264', '-crf', '18']);
    assert.deepEqual(withHdrParams(['-c:v', 'libx265', '-x265-params', 'a=1'], null), ['-c:v', 'libx265', '-x265-params', 'a=1']);
  });
});
