/**
 * Sequential reader for ncnn's `.bin` weight files, following `ncnn::ModelBinFromDataReader::load`
 * (src/modelbin.cpp). The file has no index: each layer's `load_model` pulls its arrays in order,
 * in one of two ways:
 *
 * - `load(w, 0)` (Convolution weights): a 4-byte little-endian tag, then the data. Tag 0x01306B47:
 *   w fp16 values padded to a multiple of 4 bytes. Tag 0: w raw fp32 values. Tag 0x000D4B38: int8
 *   weights; tag 0x0002C056: fp32 with int8 scales; any other non-zero tag: a 256-entry fp32 table
 *   followed by uint8 indices. We refuse the last three: these models never use them and they only
 *   make sense with int8 inference.
 * - `load(w, 1)` (biases, PReLU slopes): w raw fp32 values, no tag.
 */
import { halfToFloat } from '../float16.ts';
import { ModelError } from '../model-error.ts';

export const TAG_FLOAT16 = 0x01306b47;
export const TAG_FLOAT32 = 0x00000000;
export const TAG_INT8 = 0x000d4b38;
export const TAG_FLOAT32_INT8_SCALED = 0x0002c056;

function align4(n: number): number {
  return (n + 3) & ~3;
}

function hex(tag: number): string {
  return `0x${tag.toString(16).padStart(8, '0').toUpperCase()}`;
}

/** Reads weight arrays from an ncnn `.bin`, tracking the byte offset for error messages. */
export class NcnnWeightReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #source: string;
  #offset = 0;

  /**
   * @param bytes the whole .bin file
   * @param source a name for error messages (usually the file path)
   */
  constructor(bytes: Uint8Array, source: string) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#source = source;
  }

  /** Byte offset of the next unread byte. */
  get offset(): number {
    return this.#offset;
  }

  #need(bytes: number, owner: string, what: string): void {
    const left = this.#bytes.byteLength - this.#offset;
    if (bytes > left) {
      throw new ModelError(
        'NcnnWeightsInvalid',
        `reading ncnn weights ${this.#source}: ${owner} needs ${bytes} bytes of ${what} at byte offset ${this.#offset}, ` +
          `but only ${left} remain (file is ${this.#bytes.byteLength} bytes): the .bin is truncated or does not match the .param`,
      );
    }
  }

  #readFloat32(count: number): Float32Array {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = this.#view.getFloat32(this.#offset + i * 4, true);
    this.#offset += count * 4;
    return out;
  }

  /**
   * ncnn's `load(count, 0)`: a type tag, then fp16 or fp32 values.
   * @param owner names the layer and array, e.g. "Convolution layer Conv_0 (line 4) weights"
   */
  loadTagged(count: number, owner: string): Float32Array {
    this.#need(4, owner, 'type tag');
    const tagOffset = this.#offset;
    const tag = this.#view.getUint32(this.#offset, true);
    this.#offset += 4;
    if (tag === TAG_FLOAT16) {
      const size = align4(count * 2);
      this.#need(size, owner, `fp16 data (${count} values)`);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = halfToFloat(this.#view.getUint16(this.#offset + i * 2, true));
      this.#offset += size;
      return out;
    }
    if (tag === TAG_FLOAT32) {
      this.#need(count * 4, owner, `fp32 data (${count} values)`);
      return this.#readFloat32(count);
    }
    const kind =
      tag === TAG_INT8 ? 'int8-quantized weights' : tag === TAG_FLOAT32_INT8_SCALED ? 'fp32 weights with int8 scales' : 'table-quantized weights';
    throw new ModelError(
      'NcnnWeightsInvalid',
      `reading ncnn weights ${this.#source}: ${owner} at byte offset ${tagOffset} has storage tag ${hex(tag)} (${kind}); ` +
        `only fp16 (${hex(TAG_FLOAT16)}) and fp32 (${hex(TAG_FLOAT32)}) weights are supported`,
    );
  }

  /** ncnn's `load(count, 1)`: `count` raw fp32 values with no tag. */
  loadRaw(count: number, owner: string): Float32Array {
    this.#need(count * 4, owner, `fp32 data (${count} values)`);
    return this.#readFloat32(count);
  }

  /** Fails when bytes are left over: the .bin then belongs to another .param. */
  assertFullyRead(): void {
    const left = this.#bytes.byteLength - this.#offset;
    if (left !== 0) {
      throw new ModelError(
        'NcnnWeightsInvalid',
        `reading ncnn weights ${this.#source}: ${left} bytes remain after the last layer's weights at byte offset ${this.#offset}: ` +
          'the .bin does not match the .param',
      );
    }
  }
}
