import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** Hex sha256 of a file's content, or undefined when the file does not exist. */
export async function sha256File(path: string): Promise<string | undefined> {
  try {
    return createHash('sha256').update(await readFile(path)).digest('hex');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
