/**
 * The EXIF orientation of a still image (tag 0x0112), read from the bytes themselves: JPEG APP1
 * `Exif`, PNG `eXIf` and WebP `EXIF` chunks all carry the same TIFF structure. Read here rather than
 * left to ffmpeg because ffmpeg versions differ (5.1 ignores it, later ones may rotate on decode):
 * the decode turns ffmpeg's own rotation off and applies {@link orientationFilter}. Pure.
 */

/** EXIF orientation 1-8; 1 (or no tag) = as stored. */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

/** The orientation in an image file's bytes; 1 when it has none or it cannot be read. */
export function exifOrientation(file: Uint8Array): Orientation {
  const b = Buffer.from(file.buffer, file.byteOffset, file.byteLength);
  const tiff = jpegExif(b) ?? pngExif(b) ?? webpExif(b);
  return tiff === undefined ? 1 : tiffOrientation(tiff);
}

/** The ffmpeg filters that turn a stored image upright for an orientation; empty for 1. */
export function orientationFilter(o: Orientation): string[] {
  const filters: Record<Orientation, string[]> = {
    1: [],
    2: ['hflip'],
    3: ['hflip', 'vflip'],
    4: ['vflip'],
    5: ['transpose=0'],
    6: ['transpose=1'],
    7: ['transpose=3'],
    8: ['transpose=2'],
  };
  return filters[o];
}

/** Orientations 5-8 swap width and height. */
export function swapsAxes(o: Orientation): boolean {
  return o >= 5;
}

function jpegExif(b: Buffer): Buffer | undefined {
  if (b.length < 4 || b[0] !== 0xff || b[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= b.length && b[at] === 0xff) {
    const marker = b[at + 1] as number;
    // Start of scan: the metadata segments are all before it.
    if (marker === 0xda || marker === 0xd9) return undefined;
    const length = b.readUInt16BE(at + 2);
    const body = b.subarray(at + 4, at + 2 + length);
    if (marker === 0xe1 && body.subarray(0, 6).toString('latin1') === 'Exif\0\0') return body.subarray(6);
    at += 2 + length;
  }
  return undefined;
}

function pngExif(b: Buffer): Buffer | undefined {
  if (b.length < 8 || b[0] !== 0x89 || b.subarray(1, 4).toString('latin1') !== 'PNG') return undefined;
  let at = 8;
  while (at + 8 <= b.length) {
    const length = b.readUInt32BE(at);
    const type = b.subarray(at + 4, at + 8).toString('latin1');
    if (type === 'eXIf') return b.subarray(at + 8, at + 8 + length);
    if (type === 'IDAT' || type === 'IEND') return undefined;
    at += 12 + length;
  }
  return undefined;
}

function webpExif(b: Buffer): Buffer | undefined {
  if (b.length < 12 || b.subarray(0, 4).toString('latin1') !== 'RIFF' || b.subarray(8, 12).toString('latin1') !== 'WEBP') return undefined;
  let at = 12;
  while (at + 8 <= b.length) {
    const type = b.subarray(at, at + 4).toString('latin1');
    const length = b.readUInt32LE(at + 4);
    if (type === 'EXIF') {
      const body = b.subarray(at + 8, at + 8 + length);
      // Some writers keep JPEG's `Exif\0\0` prefix.
      return body.subarray(0, 6).toString('latin1') === 'Exif\0\0' ? body.subarray(6) : body;
    }
    at += 8 + length + (length % 2);
  }
  return undefined;
}

/** Orientation from a TIFF header + IFD0; 1 when malformed. */
function tiffOrientation(t: Buffer): Orientation {
  if (t.length < 8) return 1;
  const order = t.subarray(0, 2).toString('latin1');
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const u16 = (at: number): number => (le ? t.readUInt16LE(at) : t.readUInt16BE(at));
  const u32 = (at: number): number => (le ? t.readUInt32LE(at) : t.readUInt32BE(at));
  const ifd = u32(4);
  if (ifd + 2 > t.length) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > t.length) return 1;
    if (u16(entry) === 0x0112) {
      const value = u16(entry + 8);
      return value >= 1 && value <= 8 ? (value as Orientation) : 1;
    }
  }
  return 1;
}
