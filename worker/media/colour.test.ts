import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { colourTagOptions, convertsMatrix, decodeScaleOptions, outputColour, sourceColour, type SourceColourFacts } from './colour.ts';

const untagged = (height: number, colourModel: SourceColourFacts['colourModel'] = 'yuv'): SourceColourFacts => ({
  colorRange: null, colorSpace: null, colorTransfer: null, colorPrimaries: null, colourModel, displayHeight: height,
});
const tagged = (height: number, space: string, primaries: string, transfer: string, range = 'tv'): SourceColourFacts => ({
  colorRange: range, colorSpace: space, colorTransfer: transfer, colorPrimaries: primaries, colourModel: 'yuv', displayHeight: height,
});

describe('sourceColour', () => {
  const cases: [string, SourceColourFacts, ReturnType<typeof sourceColour>][] = [
    ['an untagged SD source reads as BT.601 (SMPTE-C), limited range', untagged(480), { matrix: 'smpte170m', range: 'tv', primaries: 'smpte170m', transfer: 'smpte170m' }],
    ['an untagged 576-line source has EBU primaries', untagged(576), { matrix: 'smpte170m', range: 'tv', primaries: 'bt470bg', transfer: 'smpte170m' }],
    ['an untagged 720-line source reads as BT.709', untagged(720), { matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' }],
    ['tags win over the height', tagged(480, 'bt709', 'bt709', 'bt709', 'pc'), { matrix: 'bt709', range: 'pc', primaries: 'bt709', transfer: 'bt709' }],
    ['an RGB-coded source is full range, no matrix', { ...untagged(256, 'rgb'), colorSpace: 'gbr', colorRange: 'pc' }, { matrix: 'gbr', range: 'pc', primaries: 'bt709', transfer: 'bt709' }],
    ['gray samples are full range', untagged(256, 'gray'), { matrix: 'smpte170m', range: 'pc', primaries: 'smpte170m', transfer: 'smpte170m' }],
  ];
  for (const [name, facts, want] of cases) it(name, () => assert.deepEqual(sourceColour(facts), want));
});

describe('outputColour', () => {
  const cases: [string, SourceColourFacts, number, ReturnType<typeof outputColour>][] = [
    ['an untagged SD source upscaled to HD gets the BT.709 matrix and keeps its primaries', untagged(256), 1024, { matrix: 'bt709', range: 'tv', primaries: 'smpte170m', transfer: 'smpte170m' }],
    ['an untagged SD source that stays SD keeps BT.601', untagged(120), 480, { matrix: 'smpte170m', range: 'tv', primaries: 'smpte170m', transfer: 'smpte170m' }],
    ['a BT.709-tagged SD source keeps BT.709 on an SD output', tagged(120, 'bt709', 'bt709', 'bt709'), 480, { matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' }],
    ['a BT.709 source stays BT.709', tagged(480, 'bt709', 'bt709', 'bt709'), 1920, { matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' }],
    ['a full-range source stays full range', tagged(480, 'smpte170m', 'smpte170m', 'smpte170m', 'pc'), 1920, { matrix: 'bt709', range: 'pc', primaries: 'smpte170m', transfer: 'smpte170m' }],
    ['HDR10 keeps BT.2020 and PQ', tagged(1080, 'bt2020nc', 'bt2020', 'smpte2084'), 2160, { matrix: 'bt2020nc', range: 'tv', primaries: 'bt2020', transfer: 'smpte2084' }],
    ['HLG with constant-luminance matrix is written non-constant (what swscale converts to)', tagged(1080, 'bt2020c', 'bt2020', 'arib-std-b67'), 2160, { matrix: 'bt2020nc', range: 'tv', primaries: 'bt2020', transfer: 'arib-std-b67' }],
    ['an RGB source becomes limited-range YUV with the matrix of its output size', { ...untagged(256, 'rgb'), colorSpace: 'gbr', colorRange: 'pc' }, 1024, { matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' }],
    ['a YCgCo source (no swscale matrix) gets the output size\'s matrix', tagged(1080, 'ycgco', 'bt709', 'bt709'), 2160, { matrix: 'bt709', range: 'tv', primaries: 'bt709', transfer: 'bt709' }],
  ];
  for (const [name, facts, height, want] of cases) it(name, () => assert.deepEqual(outputColour(facts, height), want));

  it('says when the matrix changes', () => {
    assert.equal(convertsMatrix(untagged(256), 1024), true);
    assert.equal(convertsMatrix(untagged(256), 512), false);
    assert.equal(convertsMatrix(tagged(480, 'bt709', 'bt709', 'bt709'), 1920), false);
  });
});

describe('decode and tag options', () => {
  it('reads YUV with its matrix and range, RGB and gray without', () => {
    assert.deepEqual(decodeScaleOptions(untagged(256)), ['in_color_matrix=smpte170m', 'in_range=tv']);
    assert.deepEqual(decodeScaleOptions(tagged(1080, 'bt470bg', 'bt470bg', 'bt709', 'pc')), ['in_color_matrix=bt470', 'in_range=pc']);
    assert.deepEqual(decodeScaleOptions(untagged(256, 'rgb')), []);
    assert.deepEqual(decodeScaleOptions(untagged(256, 'gray')), []);
  });
  it('tags every field explicitly', () => {
    assert.deepEqual(colourTagOptions(outputColour(untagged(256), 1024)), ['-color_range', 'tv', '-colorspace', 'bt709', '-color_primaries', 'smpte170m', '-color_trc', 'smpte170m']);
  });
});
