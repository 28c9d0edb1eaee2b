/**
 * Colour decisions (pure): how to read a source's samples as RGB, and which matrix, range and tags
 * the upscaled output gets, so that a player shows the output's colours as it showed the source's.
 *
 * Players read an untagged YUV stream by its height: BT.601 below 720 lines, BT.709 from 720 up.
 * So an untagged source is decoded the way players decode it, and every output is tagged explicitly
 * (matrix, primaries, transfer, range). When an SD-class source (BT.601 matrix, tagged or assumed)
 * is upscaled to 720 lines or more, the RGB frames are encoded with the BT.709 matrix: the
 * pictures keep their RGB values, which is what a player shows. Primaries and transfer are the
 * source's (tagged, or what players assume for its height): they describe the RGB values, which the
 * model does not change. HDR and BT.2020 sources keep their own matrix and tags.
 *
 * All names are ffmpeg's (`-colorspace`, `-color_primaries`, `-color_trc`, `-color_range` values).
 */
import type { Probe } from './probe-schema.ts';

/** A stream's colour description, every field known. */
export interface Colour {
  /** YUV matrix (`bt709`, `smpte170m`, `bt470bg`, `bt2020nc`...); `gbr` for RGB-coded samples. */
  matrix: string;
  range: 'tv' | 'pc';
  primaries: string;
  transfer: string;
}

/** What the colour decisions need from the probe. */
export type SourceColourFacts = Pick<Probe['video'], 'colorRange' | 'colorSpace' | 'colorTransfer' | 'colorPrimaries' | 'colourModel' | 'displayHeight'>;

/** Lines from which players take an untagged stream for HD (BT.709). */
export const HD_LINES = 720;

/** Matrices swscale converts with (ffmpeg names); anything else is replaced on output. */
const SWS_MATRICES = new Set(['bt709', 'fcc', 'smpte170m', 'bt470bg', 'smpte240m', 'bt2020nc']);
const SD_MATRICES = new Set(['smpte170m', 'bt470bg', 'fcc']);
const HDR_TRANSFERS = new Set(['smpte2084', 'arib-std-b67']);

function isHd(height: number): boolean {
  return height >= HD_LINES;
}

/** The matrix, primaries and transfer players assume for an untagged stream of `height` lines. */
export function assumedColour(height: number): Omit<Colour, 'range'> {
  if (isHd(height)) return { matrix: 'bt709', primaries: 'bt709', transfer: 'bt709' };
  // 576-line (PAL) material has EBU primaries; everything else below 720 lines SMPTE-C.
  return { matrix: 'smpte170m', primaries: height === 576 ? 'bt470bg' : 'smpte170m', transfer: 'smpte170m' };
}

/** The source's colour: its tags, and for each missing tag what a player assumes. */
export function sourceColour(v: SourceColourFacts): Colour {
  const assumed = assumedColour(v.displayHeight);
  const tagged = (s: string | null): string | undefined => (s === null || s === 'unknown' || s === 'reserved' ? undefined : s);
  if (v.colourModel === 'rgb') {
    // RGB-coded samples (gbrp, bgr0, rgb24, palette) are full range and need no matrix; untagged
    // RGB is taken for sRGB/BT.709 primaries.
    return { matrix: 'gbr', range: 'pc', primaries: tagged(v.colorPrimaries) ?? 'bt709', transfer: tagged(v.colorTransfer) ?? 'bt709' };
  }
  const matrix = tagged(v.colorSpace);
  return {
    matrix: matrix === undefined || matrix === 'gbr' ? assumed.matrix : matrix,
    // Gray samples are read as full range (swscale does, whatever the tag).
    range: v.colorRange === 'pc' || v.colourModel === 'gray' ? 'pc' : 'tv',
    primaries: tagged(v.colorPrimaries) ?? assumed.primaries,
    transfer: tagged(v.colorTransfer) ?? assumed.transfer,
  };
}

/** HDR transfer or BT.2020 colour: kept as it is, whatever the output size. */
export function isWideOrHdr(c: Colour): boolean {
  return HDR_TRANSFERS.has(c.transfer) || c.primaries === 'bt2020' || c.matrix === 'bt2020nc' || c.matrix === 'bt2020c';
}

/**
 * The output's colour for an output `height` lines high (YUV always): the source's matrix when
 * swscale has it and it is not a BT.601 one on an HD output, else the output size's (BT.709 from
 * 720 lines, BT.601 below); the source's range for YUV sources (limited for RGB and gray); the source's primaries and
 * transfer.
 */
export function outputColour(v: SourceColourFacts, height: number): Colour {
  const src = sourceColour(v);
  const range = v.colourModel === 'yuv' ? src.range : 'tv';
  const keep = { range, primaries: src.primaries, transfer: src.transfer };
  if (isWideOrHdr(src)) return { matrix: src.matrix !== 'bt2020c' && SWS_MATRICES.has(src.matrix) ? src.matrix : 'bt2020nc', ...keep };
  return { ...keepMatrix(src.matrix, height), ...keep };
}

function keepMatrix(matrix: string, height: number): { matrix: string } {
  // Only SD -> HD converts: many players take an HD stream for BT.709 whatever its tag says, while
  // a BT.709 tag on an SD stream is read correctly.
  const fits = SWS_MATRICES.has(matrix) && !(SD_MATRICES.has(matrix) && isHd(height));
  return { matrix: fits ? matrix : assumedColour(height).matrix };
}

/** True when the output is encoded with another matrix than the source's (logged once per shard). */
export function convertsMatrix(v: SourceColourFacts, height: number): boolean {
  return v.colourModel === 'yuv' && sourceColour(v).matrix !== outputColour(v, height).matrix;
}

/** swscale's name for a matrix (ffmpeg `-colorspace` name); unknown gives BT.601, swscale's default. */
export function swsMatrix(matrix: string | null): string {
  switch (matrix) {
    case 'bt709':
    case 'fcc':
    case 'smpte170m':
    case 'smpte240m':
      return matrix;
    case 'bt470bg':
      return 'bt470';
    case 'bt2020nc':
    case 'bt2020c':
      return 'bt2020';
    default:
      return 'bt601';
  }
}

/** `scale` filter options reading the source's samples into RGB (none for RGB-coded sources). */
export function decodeScaleOptions(v: SourceColourFacts): string[] {
  const c = sourceColour(v);
  // swscale reads gray samples as full range whatever `in_range` says, as ffmpeg's players do.
  if (v.colourModel !== 'yuv') return [];
  return [`in_color_matrix=${swsMatrix(c.matrix)}`, `in_range=${c.range}`];
}

/** `scale` filter options writing RGB frames as the output's YUV. */
export function encodeScaleOptions(c: Colour): string[] {
  return [`out_color_matrix=${swsMatrix(c.matrix)}`, `out_range=${c.range}`];
}

/**
 * A `setparams` filter tagging the encoder's frames with `c`. ffmpeg 7.x opens the encoder with the
 * first frame's colour properties, overriding `-color_primaries`/`-color_trc`, and raw RGB frames
 * carry none, so the tags must be on the frames themselves (5.1 takes either).
 */
export function colourTagFilter(c: Colour): string {
  return `setparams=range=${c.range}:colorspace=${c.matrix}:color_primaries=${c.primaries}:color_trc=${c.transfer}`;
}

/** ffmpeg output options tagging a stream with `c`. */
export function colourTagOptions(c: Colour): string[] {
  return ['-color_range', c.range, '-colorspace', c.matrix, '-color_primaries', c.primaries, '-color_trc', c.transfer];
}
