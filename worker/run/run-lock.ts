/**
 * One `upscale run` per output at a time: a lock file that holds the owner's pid, host and a nonce.
 * It is created whole and exclusively (written to a random temporary name, then linked into place:
 * link(2) fails when the lock exists), and it dies with its process: a lock whose pid is no longer
 * alive on this host is stale and taken over.
 *
 * Where: beside a local output (`.<name>.upscale.lock`, in the directory the run writes anyway);
 * for an S3 output in a private per-user directory under the temporary directory, so two local runs
 * on one machine exclude each other (runs on other machines cannot be seen from here).
 *
 * Taking over a stale lock renames it to a random name first and checks that what it moved is the
 * stale lock it read (a rename is atomic), so two runs that both find the same stale lock cannot
 * both win; a lock moved by mistake is linked back.
 */
import { createHash, randomBytes } from 'node:crypto';
import { link, lstat, mkdir, readFile, rename, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { UpscaleError } from '../errors.ts';
import { discard, openTemporary, publish, temporaryPathFor } from '../storage/atomic-file.ts';
import { parseLocation } from '../storage/location.ts';

const lockSchema = z.object({ pid: z.int().positive(), host: z.string(), nonce: z.string(), output: z.string(), since: z.string() });
type LockRecord = z.infer<typeof lockSchema>;

export interface RunLock {
  /** The lock file. */
  path: string;
  /** Removes the lock if it is still this run's; never throws. */
  release(): Promise<void>;
}

export interface RunLockHooks {
  /** Called when a stale lock (its process gone) was taken over. */
  onStale?: (stale: { pid: number; since: string; path: string }) => void;
}

/** Where the lock of `output` lives (see the module comment). */
export async function lockPathFor(output: string): Promise<string> {
  const location = parseLocation(output);
  if (location.kind === 'file') return path.join(path.dirname(location.path), `.${path.basename(location.path)}.upscale.lock`);
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : os.userInfo().username;
  // The shared temporary directory: `upscale` points TMPDIR at a private one per process (bin/private-tmp.ts).
  const directory = path.join(process.env['UPSCALE_SHARED_TMPDIR'] ?? os.tmpdir(), `upscale-locks-${uid}`);
  await mkdir(directory, { recursive: true, mode: 0o700 });
  // A directory someone else planted (or a symlink) would let them steal or fake locks.
  const info = await lstat(directory);
  if (!info.isDirectory() || (typeof process.getuid === 'function' && info.uid !== process.getuid()) || (info.mode & 0o077) !== 0) {
    throw new UpscaleError('AccessDenied', `lock directory ${directory} is not a private directory of this user`, { subject: directory });
  }
  return path.join(directory, `${createHash('sha256').update(location.uri).digest('hex').slice(0, 32)}.lock`);
}

/**
 * Takes the run lock of `output`.
 * @throws UpscaleError `AlreadyExists` (permanent, exit 2) naming the output and the other run's pid
 */
export async function acquireRunLock(output: string, hooks: RunLockHooks = {}): Promise<RunLock> {
  const lockPath = await lockPathFor(output);
  const mine: LockRecord = { pid: process.pid, host: os.hostname(), nonce: randomBytes(12).toString('hex'), output, since: new Date().toISOString() };
  for (let attempt = 0; attempt < 5; attempt++) {
    if (await tryCreate(lockPath, mine)) return { path: lockPath, release: () => release(lockPath, mine.nonce) };
    const holder = await readLock(lockPath);
    if (holder === 'missing') continue; // released meanwhile: try again
    if (holder !== 'unreadable' && (holder.host !== mine.host || isAlive(holder.pid))) {
      const where = holder.host === mine.host ? '' : ` on host ${holder.host}`;
      throw new UpscaleError(
        'AlreadyExists',
        `output ${output} is being written by another upscale run (pid ${holder.pid}${where}, since ${holder.since}): wait for it to finish or stop it (lock ${lockPath})`,
        { subject: output },
      );
    }
    await removeStale(lockPath, holder);
    if (holder !== 'unreadable') hooks.onStale?.({ pid: holder.pid, since: holder.since, path: lockPath });
  }
  throw new UpscaleError('AlreadyExists', `output ${output}: could not take the run lock ${lockPath} (other runs keep taking it)`, { subject: output });
}

/** Publishes the whole lock file under its name unless one exists; false when one does. */
async function tryCreate(lockPath: string, record: LockRecord): Promise<boolean> {
  const temporary = await temporaryPathFor(lockPath);
  try {
    const handle = await openTemporary(temporary);
    try {
      await handle.writeFile(`${JSON.stringify(record)}\n`);
    } finally {
      await handle.close();
    }
    await publish(temporary, lockPath, false);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new UpscaleError('AccessDenied', `cannot create the run lock ${lockPath}: ${(error as Error).message}`, { subject: lockPath, cause: error });
  } finally {
    await discard(temporary);
  }
}

async function readLock(lockPath: string): Promise<LockRecord | 'missing' | 'unreadable'> {
  let text: string;
  try {
    text = await readFile(lockPath, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw new UpscaleError('AccessDenied', `cannot read the run lock ${lockPath}: ${(error as Error).message}`, { subject: lockPath, cause: error });
  }
  try {
    const parsed = lockSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : 'unreadable';
  } catch {
    return 'unreadable'; // not ours (locks are published whole): treat as stale
  }
}

/** True when a process with this pid exists (EPERM: it exists but belongs to someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function removeStale(lockPath: string, stale: LockRecord | 'unreadable'): Promise<void> {
  const moved = `${lockPath}.${randomBytes(6).toString('hex')}.stale`;
  try {
    await rename(lockPath, moved);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  const got = await readLock(moved);
  const same = stale === 'unreadable' ? got === 'unreadable' : got !== 'missing' && got !== 'unreadable' && got.nonce === stale.nonce;
  // Another run replaced the stale lock between our read and the rename: give its lock back.
  if (!same) await link(moved, lockPath).catch(() => undefined);
  await unlink(moved).catch(() => undefined);
}

async function release(lockPath: string, nonce: string): Promise<void> {
  try {
    const holder = await readLock(lockPath);
    if (holder !== 'missing' && holder !== 'unreadable' && holder.nonce === nonce) await unlink(lockPath);
  } catch {
    // Best effort: a lock left behind is stale once this process exits.
  }
}

