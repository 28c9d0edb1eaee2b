/**
 * Detached background processes with pid files. A pid file records the pid and the process's
 * start time (field 22 of /proc/<pid>/stat), so stopping never signals an unrelated process that
 * reused the pid: `cluster:stop` ends exactly the processes this harness started.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, writeFileSync, rmSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';

const pidFileSchema = z.object({ pid: z.number().int().positive(), startTime: z.string(), name: z.string() });
export type PidFile = z.infer<typeof pidFileSchema>;

/** The kernel's start time of a process, or undefined when it does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses; fields after the last ')' are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Writes a pid file for a process that is running now. */
export function writePidFile(path: string, name: string, pid: number): void {
  const startTime = processStartTime(pid);
  if (startTime === undefined) return;
  writeFileSync(path, JSON.stringify({ pid, startTime, name } satisfies PidFile));
}

/** Reads a pid file; undefined when missing or unreadable. */
export function readPidFile(path: string): PidFile | undefined {
  try {
    return pidFileSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return undefined;
  }
}

/** Whether the process of a pid file is still the one that was started (same pid and start time). */
export function isAlive(file: PidFile | undefined): file is PidFile {
  return file !== undefined && processStartTime(file.pid) === file.startTime;
}

/** Options of a detached background process. */
export interface DetachedOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  pidFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a process in its own process group, detached from this one, logging to a file. */
export function startDetached(opts: DetachedOptions): number {
  const fd = openSync(opts.logFile, 'a');
  try {
    const child = spawn(opts.command, opts.args, {
      detached: true,
      stdio: ['ignore', fd, fd],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    if (child.pid === undefined) throw new Error(`spawning ${opts.name} (${opts.command}) returned no pid`);
    child.unref();
    writePidFile(opts.pidFile, opts.name, child.pid);
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

function signalGroup(file: PidFile, signal: NodeJS.Signals): void {
  try {
    process.kill(-file.pid, signal);
  } catch {
    try {
      process.kill(file.pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Stops the process of a pid file: SIGTERM to its process group, SIGKILL after `graceMs`, then
 * removes the pid file. Returns whether a live process was found.
 */
export async function stopPidFile(path: string, graceMs = 10_000): Promise<boolean> {
  const file = readPidFile(path);
  if (!isAlive(file)) {
    rmSync(path, { force: true });
    return false;
  }
  signalGroup(file, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(file) && Date.now() < deadline) await sleep(100);
  if (isAlive(file)) signalGroup(file, 'SIGKILL');
  while (isAlive(file)) await sleep(50);
  rmSync(path, { force: true });
  return true;
}

/** Stops every process whose pid file is in a folder (container processes of the node agent). */
export async function stopPidFolder(dir: string, graceMs = 2_000): Promise<number> {
  mkdirSync(dir, { recursive: true });
  const files = readdirSync(dir).filter((f) => f.endsWith('.pid'));
  const stopped = await Promise.all(files.map((f) => stopPidFile(join(dir, f), graceMs)));
  return stopped.filter(Boolean).length;
}

/**
 * Runs `fn` holding an exclusive lock file (`wx` create holding the pid), so two test processes
 * never start the same component at once; a lock whose holder died is taken over.
 */
export async function withPidLock<T>(lock: string, fn: () => Promise<T>, pollMs = 500): Promise<T> {
  for (;;) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch {
      const holder = Number(readFileSync(lock, 'utf8') || '0');
      let alive = false;
      try {
        if (holder > 0) process.kill(holder, 0);
        alive = holder > 0;
      } catch {
        alive = false;
      }
      if (!alive) rmSync(lock, { force: true });
      else await sleep(pollMs);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
