/**
 * One container run as a local process: its own process group (so SIGTERM/SIGKILL reach the
 * whole tree, as a container's cgroup would), stdout and stderr appended to the container's log
 * file, and a pid file so `cluster:stop` can end it even if the agent is gone.
 */
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { writePidFile } from '../processes.ts';

/** How a container process ended. */
export interface ContainerExit {
  exitCode: number;
  signal: NodeJS.Signals | null;
  finishedAt: Date;
}

/** A running container process. */
export interface ContainerProcess {
  pid: number;
  startedAt: Date;
  exited: Promise<ContainerExit>;
  /** Signals the container's process group. */
  kill(signal: NodeJS.Signals): void;
}

/** What to start. */
export interface ContainerLaunch {
  name: string;
  argv: string[];
  env: Record<string, string>;
  cwd: string;
  logFile: string;
  pidFile: string;
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15, SIGABRT: 6, SIGSEGV: 11, SIGQUIT: 3, SIGUSR1: 10, SIGUSR2: 12, SIGPIPE: 13 };

/** Starts a container process. A spawn failure (command not found) resolves `exited` with code 127 or 126. */
export function startContainer(launch: ContainerLaunch): ContainerProcess {
  mkdirSync(dirname(launch.logFile), { recursive: true });
  mkdirSync(dirname(launch.pidFile), { recursive: true });
  mkdirSync(launch.cwd, { recursive: true });
  const fd = openSync(launch.logFile, 'a');
  const [file, ...args] = launch.argv;
  const child = spawn(file ?? '/bin/false', args, { detached: true, stdio: ['ignore', fd, fd], env: launch.env, cwd: launch.cwd });
  closeSync(fd);
  const startedAt = new Date();
  const pid = child.pid ?? 0;
  if (pid > 0) writePidFile(launch.pidFile, launch.name, pid);
  const exited = new Promise<ContainerExit>((resolve) => {
    let settled = false;
    const settle = (exit: ContainerExit) => {
      if (settled) return;
      settled = true;
      rmSync(launch.pidFile, { force: true });
      resolve(exit);
    };
    child.once('error', (err: NodeJS.ErrnoException) => {
      // The runtime reports a missing executable as a failed start; 127/126 match a shell's codes.
      const exitCode = err.code === 'ENOENT' ? 127 : 126;
      settle({ exitCode, signal: null, finishedAt: new Date() });
    });
    child.once('exit', (code, signal) => {
      // When a container's main process ends the runtime ends the rest of it too.
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // No process left in the group.
      }
      const exitCode = code ?? 128 + (signal ? (signalNumbers[signal] ?? 1) : 1);
      settle({ exitCode, signal, finishedAt: new Date() });
    });
  });
  return {
    pid,
    startedAt,
    exited,
    kill(signal) {
      if (pid <= 0) return;
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is gone already.
      }
    },
  };
}
