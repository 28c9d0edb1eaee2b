/**
 * Atomic local writes: data goes to a hidden temporary file in the destination's directory (same file
 * system, so the final step is atomic), is flushed to disk, and is then published under its final name.
 * Readers see either no file or the whole file, never a partial one.
 *
 * Publishing without overwrite uses link(2), which fails with EEXIST when the name is taken, so two
 * writers cannot both win. File systems without hard links fall back to check-then-rename, which can
 * race with a concurrent writer (documented, rare: only one process writes a given output).
 */
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';

/** Temporary files are `.<name>.<random>.partial`; listings skip them. */
export function isTemporaryName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.partial');
}

/** A fresh temporary path beside `finalPath`; creates the directory if needed. */
export async function temporaryPathFor(finalPath: string): Promise<string> {
  const directory = path.dirname(finalPath);
  await mkdir(directory, { recursive: true });
  return path.join(directory, `.${path.basename(finalPath)}.${randomBytes(6).toString('hex')}.partial`);
}

/** Opens a temporary file for writing; the caller writes, then calls {@link publish} or {@link discard}. */
export async function openTemporary(temporaryPath: string): Promise<FileHandle> {
  // O_EXCL: the random name must be new; never write through someone else's file.
  return open(temporaryPath, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644);
}

/**
 * A fresh temporary path beside `finalPath`, created empty and exclusively, for a writer in another
 * process (ffmpeg): it may replace the file (`-y`) but never writes through another user's file or
 * link. The caller later calls {@link publish} or {@link discard}.
 */
export async function reserveTemporary(finalPath: string): Promise<string> {
  const temporaryPath = await temporaryPathFor(finalPath);
  await (await openTemporary(temporaryPath)).close();
  return temporaryPath;
}

/** Flushes the temporary file and gives it its final name; see the module comment for `overwrite`. */
export async function publish(temporaryPath: string, finalPath: string, overwrite: boolean): Promise<void> {
  const handle = await open(temporaryPath, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  if (overwrite) {
    await rename(temporaryPath, finalPath);
  } else {
    try {
      await link(temporaryPath, finalPath);
      await unlink(temporaryPath);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
      const exists = await stat(finalPath).then(
        () => true,
        () => false,
      );
      if (exists) throw Object.assign(new Error('file exists'), { code: 'EEXIST' });
      await rename(temporaryPath, finalPath);
    }
  }
  await syncDirectory(path.dirname(finalPath));
}

/** Removes a temporary file after a failure; never throws (the original error matters more). */
export async function discard(temporaryPath: string): Promise<void> {
  await rm(temporaryPath, { force: true }).catch(() => undefined);
}

/** Makes the rename durable; some file systems refuse to fsync a directory, which is harmless. */
async function syncDirectory(directory: string): Promise<void> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(directory, 'r');
    await handle.sync();
  } catch {
    // EINVAL/EISDIR on file systems without directory fsync: the rename itself is still atomic.
  } finally {
    await handle?.close();
  }
}
