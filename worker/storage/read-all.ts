/**
 * Reads a stream into one Buffer, mapping a failure mid-stream with the store's own error
 * function (fs, http), so every store's `read` names the object and the cause the same way.
 */
import type { Readable } from 'node:stream';

export async function readAll(stream: Readable, onError: (error: unknown) => Error): Promise<Buffer> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (error) {
    throw onError(error);
  }
  return Buffer.concat(chunks);
}
