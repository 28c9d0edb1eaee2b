/**
 * A private temporary directory per `upscale` process, removed when it exits (also on a second
 * Ctrl-C, which exits at once): its ffmpeg work folders, its worker processes' and ONNX Runtime's
 * files (onnxruntime-node 1.30 writes `mat-debug-<pid>.log` and `.ses` there when its telemetry is
 * on) never stay behind in a shared folder. Child processes inherit it through TMPDIR.
 *
 * A process killed outright (SIGKILL, the OOM killer, a pod's grace period running out) runs no
 * exit handler, so each folder carries its owner (`owner.json`: pid, host, boot id, the process's
 * start time) and every `upscale` process removes, as it starts, the folders beside its own whose
 * owner ran on this host since this boot, in this pid namespace, and is gone: its pid is not
 * running, or is running as a process that started at another time (a reused pid). A folder of
 * another host, boot or pid namespace (a container sharing the folder sees other pids), of a pid that
 * cannot be looked at, or without an owner file is left alone: it may belong to a live process.
 *
 * The shared directory stays known as UPSCALE_SHARED_TMPDIR, for what must be seen across runs
 * (the run locks of S3 outputs, run-lock.ts).
 */
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Who made a private folder. */
export interface FolderOwner {
  pid: number;
  host: string;
  /** The kernel's boot id, '' where it cannot be read. */
  boot: string;
  /** The pid namespace (`/proc/self/ns/pid`'s link, e.g. `pid:[4026531836]`), '' where it cannot be read. */
  pidns: string;
  /** The process's start time (clock ticks since boot, /proc/<pid>/stat), -1 where it cannot be read. */
  started: number;
}

const OWNER_FILE = 'owner.json';
const FOLDER = /^upscale-(\d+)-[A-Za-z0-9]{6}$/;

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function bootId(): string {
  return readText('/proc/sys/kernel/random/boot_id')?.trim() ?? '';
}

function pidNamespace(): string {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '';
  }
}

/** A process's start time from /proc (field 22 of stat, after the parenthesised name); undefined if it is not running or /proc has none. */
function startTimeOf(pid: number): number | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const started = Number(fields[19]);
  return Number.isInteger(started) ? started : undefined;
}

/** What is known of a pid now: running since `started`, not running, or not knowable here. */
export type PidState = { running: true; started: number } | { running: false } | 'unknown';

function pidState(pid: number): PidState {
  const started = startTimeOf(pid);
  if (started !== undefined) return { running: true, started };
  try {
    process.kill(pid, 0);
    // Running, but /proc has no start time for it (no /proc here): cannot tell a reused pid.
    return 'unknown';
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH' ? { running: false } : 'unknown';
  }
}

/** Pure: whether a folder made by `owner` belongs to a process that is gone, seen from `here`. */
export function ownerIsGone(owner: FolderOwner, here: Pick<FolderOwner, 'host' | 'boot' | 'pidns'>, state: PidState): boolean {
  if (owner.host !== here.host || owner.boot === '' || owner.boot !== here.boot || owner.pidns === '' || owner.pidns !== here.pidns) return false;
  if (state === 'unknown') return false;
  if (!state.running) return true;
  return owner.started >= 0 && state.started !== owner.started;
}

function parseOwner(text: string | undefined): FolderOwner | undefined {
  if (text === undefined) return undefined;
  try {
    const o = JSON.parse(text) as Partial<FolderOwner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string' || typeof o.boot !== 'string' || typeof o.pidns !== 'string' || typeof o.started !== 'number') return undefined;
    return { pid: o.pid, host: o.host, boot: o.boot, pidns: o.pidns, started: o.started };
  } catch {
    return undefined;
  }
}

/**
 * Removes the private folders in `parent` whose owners are gone (see the module comment); returns
 * their paths. Never throws: a folder that cannot be read or removed is left.
 */
export function sweepDeadFolders(parent: string, own?: string): string[] {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return [];
  }
  const here = { host: os.hostname(), boot: bootId(), pidns: pidNamespace() };
  const removed: string[] = [];
  for (const name of names) {
    const match = FOLDER.exec(name);
    const dir = path.join(parent, name);
    if (match === null || dir === own) continue;
    const owner = parseOwner(readText(path.join(dir, OWNER_FILE)));
    if (owner === undefined || owner.pid !== Number(match[1])) continue;
    if (!ownerIsGone(owner, here, pidState(owner.pid))) continue;
    try {
      rmSync(dir, { recursive: true, force: true });
      removed.push(dir);
    } catch {
      // Not ours to remove (another user's), or half gone: leave it.
    }
  }
  return removed;
}

/** Points TMPDIR at a fresh private directory and removes it at exit; returns its path. */
export function usePrivateTmpdir(env: NodeJS.ProcessEnv = process.env): string {
  const shared = env['UPSCALE_SHARED_TMPDIR'] ?? os.tmpdir();
  const parent = os.tmpdir();
  const dir = mkdtempSync(path.join(parent, `upscale-${process.pid}-`));
  const owner: FolderOwner = { pid: process.pid, host: os.hostname(), boot: bootId(), pidns: pidNamespace(), started: startTimeOf(process.pid) ?? -1 };
  writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify(owner));
  env['UPSCALE_SHARED_TMPDIR'] = shared;
  env['TMPDIR'] = dir; // os.tmpdir() reads TMPDIR on every call
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  sweepDeadFolders(parent, dir);
  return dir;
}
