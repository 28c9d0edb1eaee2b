/**
 * IEEE 754 binary16 conversions. ncnn stores most weights as fp16 and the fp16 ONNX variant stores
 * them the same way. Node 24 has Float16Array at run time, but the project's TypeScript lib (es2024)
 * does not type it, so the bit conversions live here and are tested against the runtime's own.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Converts fp16 bits to the (exactly representable) fp32 value. */
export function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24; // zero or subnormal
  if (exponent === 0x1f) return mantissa === 0 ? sign * Infinity : NaN;
  return sign * (1024 + mantissa) * 2 ** (exponent - 25);
}

/** Converts an fp32 value to fp16 bits, rounding to nearest even (as a C cast or Math.f16round does). */
export function floatToHalf(value: number): number {
  f32[0] = value;
  const x = u32[0] ?? 0;
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  let mantissa = x & 0x7fffff;

  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0); // Inf / NaN
  let e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow to infinity
  if (e <= 0) {
    // Subnormal half (or zero): shift the implicit-1 mantissa into place, then round.
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    const half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const midpoint = 1 << (shift - 1);
    const roundUp = rest > midpoint || (rest === midpoint && (half & 1) === 1);
    return sign | (half + (roundUp ? 1 : 0));
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // may carry into the exponent: still correct
  e = half >> 10;
  return sign | (e >= 0x1f ? 0x7c00 : half);
}

/** Converts fp32 values to packed little-endian fp16 bytes. */
export function floatsToHalfBytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setUint16(i * 2, floatToHalf(values[i] ?? 0), true);
  return out;
}
