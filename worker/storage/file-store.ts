/**
 * The local-file backend (plain paths and `file://` URIs). Writes are atomic (see atomic-file.ts);
 * ffmpeg reads local sources directly by path.
 */
import { createReadStream } from 'node:fs';
import { open, readdir, rm, stat as fsStat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UpscaleError } from '../errors.ts';
import type { FileLocation } from './location.ts';
import { requireObject } from './location.ts';
import { fromFsError, isOwnError } from './storage-errors.ts';
import { HashingStream } from './hashing-stream.ts';
import { checkRange } from './byte-range.ts';
import { readAll } from './read-all.ts';
import { discard, isTemporaryName, openTemporary, publish, temporaryPathFor } from './atomic-file.ts';
import type { ByteRange, FileStore, ObjectInfo, UploadOptions, UploadResult, UploadSource } from './types.ts';

async function stat(location: FileLocation): Promise<ObjectInfo | undefined> {
  requireObject(location, 'checking');
  try {
    const found = await fsStat(location.path);
    return found.isFile() ? { uri: location.uri, size: found.size, lastModified: found.mtime } : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromFsError(error, 'checking', location);
  }
}

async function openRead(location: FileLocation, range?: ByteRange): Promise<Readable> {
  requireObject(location, 'reading');
  if (range !== undefined) checkRange(range);
  if (range !== undefined && range.end === range.start) return Readable.from([]);
  try {
    // Open first so a missing file fails here, not later as a stream 'error' event.
    const handle = await open(location.path, 'r');
    return handle.createReadStream({
      ...(range === undefined ? {} : { start: range.start }),
      ...(range?.end === undefined ? {} : { end: range.end - 1 }),
    });
  } catch (error) {
    throw fromFsError(error, 'reading', location);
  }
}

/** Throws AlreadyExists early (before writing anything) when the file exists and overwrite is off. */
async function refuseExisting(location: FileLocation, doing: string, overwrite: boolean | undefined): Promise<void> {
  if (!overwrite && (await stat(location)) !== undefined) {
    throw new UpscaleError('AlreadyExists', `${doing} ${location.uri}: the file already exists and overwrite was not requested`, {
      subject: location.uri,
    });
  }
}

async function upload(location: FileLocation, source: UploadSource, options: UploadOptions): Promise<UploadResult> {
  requireObject(location, 'uploading');
  await refuseExisting(location, 'writing', options.overwrite);
  let temporary: string | undefined;
  try {
    temporary = await temporaryPathFor(location.path);
    const handle = await openTemporary(temporary);
    const hashing = new HashingStream(options.onProgress);
    const input = 'path' in source ? createReadStream(source.path) : source;
    await pipeline(input, hashing, handle.createWriteStream(), options.signal ? { signal: options.signal } : {});
    await publish(temporary, location.path, options.overwrite ?? false);
    const written = await fsStat(location.path);
    return { uri: location.uri, size: hashing.bytes, lastModified: written.mtime, sha256: hashing.digest() };
  } catch (error) {
    if (temporary !== undefined) await discard(temporary);
    if (options.signal?.aborted) {
      throw new UpscaleError('Cancelled', `writing ${location.uri}: aborted`, { subject: location.uri, cause: error });
    }
    if (isOwnError(error)) throw error; // the source (an encoder) failed with its own classification
    throw fromFsError(error, 'writing', location);
  }
}

/** All files under a directory (recursive), skipping our temporary files. */
async function walk(directory: string): Promise<string[]> {
  try {
    const entries = await readdir(directory, { recursive: true, withFileTypes: true });
    return entries
      .filter((entry) => entry.isFile() && !isTemporaryName(entry.name))
      .map((entry) => path.join(entry.parentPath, entry.name));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** Creates the local-file backend. */
export function createFileStore(): FileStore {
  const list = async (prefix: FileLocation): Promise<ObjectInfo[]> => {
    // A prefix ending in '/' is a directory; otherwise it is a name prefix within its directory.
    const directory = prefix.path.endsWith('/') ? prefix.path : path.dirname(prefix.path);
    try {
      const files = (await walk(directory)).filter((file) => file.startsWith(prefix.path)).sort();
      const found: ObjectInfo[] = [];
      for (const file of files) {
        const info = await fsStat(file).catch(() => undefined); // deleted meanwhile: skip
        if (info) found.push({ uri: file, size: info.size, lastModified: info.mtime });
      }
      return found;
    } catch (error) {
      throw fromFsError(error, 'listing', prefix);
    }
  };

  return {
    stat,
    openRead,

    async read(location, range) {
      return readAll(await openRead(location, range), (error) => fromFsError(error, 'reading', location));
    },

    async mediaSource(location) {
      if ((await stat(location)) === undefined) {
        throw new UpscaleError('NotFound', `opening ${location.uri}: no such file`, { subject: location.uri });
      }
      return { kind: 'file', url: location.path, display: location.uri };
    },

    async write(location, body, options) {
      const result = await upload(location, Readable.from([Buffer.from(body)]), options);
      const { sha256: _sha256, ...objectInfo } = result;
      return objectInfo;
    },

    upload,
    list,

    async delete(location) {
      requireObject(location, 'deleting');
      try {
        await unlink(location.path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw fromFsError(error, 'deleting', location);
      }
    },

    async deletePrefix(prefix) {
      if (path.parse(prefix.path).root === prefix.path) {
        throw new UpscaleError('InvalidArgument', `deleting ${prefix.uri}: refusing to delete a file-system root`, {
          subject: prefix.uri,
        });
      }
      const files = await list(prefix);
      try {
        if (prefix.path.endsWith('/')) {
          // The job prefix is a directory of our own: remove it whole, temporary files included.
          await rm(prefix.path, { recursive: true, force: true });
        } else {
          for (const file of files) await rm(file.uri, { force: true });
        }
      } catch (error) {
        throw fromFsError(error, 'deleting', prefix);
      }
      return files.length;
    },

    close() {},
  };
}
