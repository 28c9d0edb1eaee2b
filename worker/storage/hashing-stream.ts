/**
 * A pass-through stream that hashes (SHA-256) and counts the bytes flowing through it, so an upload
 * yields its checksum and size in the same pass that sends the data.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

export class HashingStream extends Transform {
  #hash = createHash('sha256');
  #bytes = 0;
  readonly #onProgress: ((bytes: number) => void) | undefined;

  constructor(onProgress?: (bytes: number) => void) {
    super();
    this.#onProgress = onProgress;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#hash.update(chunk);
    this.#bytes += chunk.length;
    this.#onProgress?.(this.#bytes);
    callback(null, chunk);
  }

  /** Bytes seen so far. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Hex SHA-256 of everything seen; call once, after the stream has ended. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}
