/**
 * Conversions between 8- and 16-bit packed RGB samples (rgb24 and rgb48le bytes), for when a
 * frame's depth and its model's differ: a 16-bit frame into an 8-bit model (a user's own model) is
 * dithered, not truncated, so a shallow gradient becomes fine noise instead of visible bands; an
 * 8-bit result for a 16-bit frame is widened back (v x 257, as ffmpeg widens), so a frame comes
 * out at the depth it went in.
 */

/** 4x4 ordered-dither (Bayer) thresholds, in sixteenths. */
const BAYER_4 = [0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5] as const;

/**
 * 16 -> 8 bits with a 4x4 ordered dither: floor(v*255/65535 + (bayer + 0.5)/16). Deterministic
 * (the same frame gives the same bytes, so shards and retries agree), and exact for 8-bit values
 * widened by 257, which come back unchanged. The average over each 4x4 block keeps the 16-bit
 * level to within 1/32 of an 8-bit step.
 */
export function dither16To8(data: Uint8Array, width: number): Uint8Array {
  const count = data.byteLength >> 1;
  const out = new Uint8Array(count);
  // rgb48le is little-endian; a DataView read is endian-explicit and avoids alignment issues.
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const rowSamples = width * 3;
  for (let i = 0; i < count; i++) {
    const x = Math.floor((i % rowSamples) / 3);
    const y = Math.floor(i / rowSamples);
    const threshold = ((BAYER_4[((y & 3) << 2) | (x & 3)] ?? 0) + 0.5) / 16;
    out[i] = Math.min(255, Math.floor((view.getUint16(i * 2, true) * 255) / 65535 + threshold));
  }
  return out;
}

/** 8 -> 16 bits (little-endian bytes), v x 257: 0 -> 0 and 255 -> 65535, as ffmpeg widens. */
export function widen8To16(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.byteLength * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < data.byteLength; i++) view.setUint16(i * 2, (data[i] ?? 0) * 257, true);
  return out;
}

/** Converts packed RGB bytes of `width`-pixel rows from one depth to another (a no-op when equal). */
export function convertDepth(data: Uint8Array, width: number, from: 8 | 16, to: 8 | 16): Uint8Array {
  if (from === to) return data;
  return from === 16 ? dither16To8(data, width) : widen8To16(data);
}
