/**
 * The S3-compatible test server: versitygw (Apache-2.0, pinned in test/s3/go.mod, built by build.sh)
 * with its POSIX backend under `.cluster/s3/`, listening on a free loopback port.
 *
 * `startS3Server()` reuses the running server when its pid file names a live versitygw that answers a
 * signed request with the recorded credentials; otherwise it stops what is left and starts a fresh
 * one. Credentials are random, made once per `.cluster/s3/` and kept (mode 0600) so restarts keep
 * them; they reach versitygw through its environment, never its command line (visible in `ps`).
 * `.cluster/s3.env` gets the standard AWS variable names (see {@link envFileText}).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import { isAlive, readPidFile, startDetached, stopPidFile } from '../cluster/processes.ts';

export const repoRoot = resolve(import.meta.dirname, '..', '..');

/** Files of the server under `.cluster/`. */
export function s3Paths(root: string = repoRoot) {
  const dir = join(root, '.cluster', 's3');
  return {
    dir,
    /** Buckets are the folders of this directory. */
    data: join(dir, 'data'),
    /** Metadata beside the data, used only where the file system lacks user xattrs. */
    sidecar: join(dir, 'meta'),
    pid: join(dir, 'versitygw.pid'),
    log: join(dir, 'versitygw.log'),
    state: join(dir, 'state.json'),
    lock: join(dir, 'start.lock'),
    envFile: join(root, '.cluster', 's3.env'),
  };
}

const StateSchema = z.object({
  endpoint: z.string(),
  region: z.string(),
  accessKeyId: z.string(),
  secretAccessKey: z.string(),
  version: z.string(),
  sidecar: z.boolean(),
});

/** What a client needs to use the server. */
export type S3ServerInfo = z.infer<typeof StateSchema>;

const REGION = 'us-east-1';

/** Builds versitygw if needed (cached in .cache/s3-bin) and returns the binary's path. */
export async function buildVersitygw(): Promise<string> {
  const { stdout } = await promisify(execFile)(join(import.meta.dirname, 'build.sh'), {
    maxBuffer: 1 << 20,
    timeout: 20 * 60_000,
  });
  const binary = stdout.trim().split('\n').at(-1) ?? '';
  if (!existsSync(binary)) throw new Error(`test/s3/build.sh printed no binary path (got "${binary}")`);
  return binary;
}

/** The `.cluster/s3.env` text: KEY=value lines a shell, dotenv or `node --env-file` can read. */
export function envFileText(info: S3ServerInfo): string {
  return [
    `AWS_ACCESS_KEY_ID=${info.accessKeyId}`,
    `AWS_SECRET_ACCESS_KEY=${info.secretAccessKey}`,
    `AWS_REGION=${info.region}`,
    `AWS_ENDPOINT_URL=${info.endpoint}`,
    '',
  ].join('\n');
}

/** True when the server answers a request signed with `info`'s credentials. */
export async function isHealthy(info: S3ServerInfo): Promise<boolean> {
  const client = new S3Client({
    endpoint: info.endpoint,
    region: info.region,
    forcePathStyle: true,
    credentials: { accessKeyId: info.accessKeyId, secretAccessKey: info.secretAccessKey },
    maxAttempts: 1,
    requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
  });
  try {
    await client.send(new ListBucketsCommand({}));
    return true;
  } catch {
    return false;
  } finally {
    client.destroy();
  }
}

async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const address = server.address();
  await new Promise((ok) => server.close(ok));
  if (address === null || typeof address === 'string') throw new Error('no loopback port');
  return address.port;
}

function readState(file: string): S3ServerInfo | undefined {
  try {
    return StateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

/** One start at a time across processes (parallel test files): an O_EXCL lock file holding a pid. */
async function withLock<T>(lock: string, work: () => Promise<T>): Promise<T> {
  for (let tries = 0; ; tries++) {
    try {
      closeSync(openSync(lock, 'wx'));
      writeFileSync(lock, String(process.pid));
      break;
    } catch {
      let holder = 0;
      try {
        holder = Number(readFileSync(lock, 'utf8')) || 0;
      } catch {
        // Released meanwhile: try again.
      }
      const holderAlive = holder > 0 && existsSync(`/proc/${holder}`);
      if (!holderAlive && tries > 5) rmSync(lock, { force: true });
      if (tries > 20 * 60 * 10) throw new Error(`waiting for ${lock} (held by pid ${holder}) timed out`);
      await sleep(100);
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lock, { force: true });
  }
}

async function launch(binary: string, state: S3ServerInfo, root: string): Promise<'ok' | 'xattr'> {
  const p = s3Paths(root);
  const port = Number(new URL(state.endpoint).port);
  if (state.sidecar) mkdirSync(p.sidecar, { recursive: true });
  const backend = state.sidecar ? ['--sidecar', p.sidecar] : [];
  const pid = startDetached({
    name: 'versitygw',
    command: binary,
    args: ['--quiet', '--port', `127.0.0.1:${port}`, '--region', state.region, 'posix', ...backend, p.data],
    logFile: p.log,
    pidFile: p.pid,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ROOT_ACCESS_KEY_ID: state.accessKeyId,
      ROOT_SECRET_ACCESS_KEY: state.secretAccessKey,
    },
  });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (await isHealthy(state)) return 'ok';
    if (!isAlive(readPidFile(p.pid))) {
      const log = readFileSync(p.log, 'utf8');
      if (/xattr/i.test(log) && !state.sidecar) return 'xattr';
      throw new Error(`versitygw (pid ${pid}) exited during start-up; last log lines:\n${log.slice(-2000)}`);
    }
    await sleep(100);
  }
  await stopPidFile(p.pid);
  throw new Error(`versitygw did not answer on ${state.endpoint} within 20 s; see ${p.log}`);
}

/** Starts the server in the background, or reuses the running one; writes `.cluster/s3.env`. */
export async function startS3Server(root: string = repoRoot): Promise<S3ServerInfo & { started: boolean }> {
  const p = s3Paths(root);
  mkdirSync(p.data, { recursive: true });
  return withLock(p.lock, async () => {
    const previous = readState(p.state);
    if (previous && isAlive(readPidFile(p.pid)) && (await isHealthy(previous))) {
      writeFileSync(p.envFile, envFileText(previous), { mode: 0o600 });
      return { ...previous, started: false };
    }
    await stopPidFile(p.pid, 5_000); // a stale or unhealthy server of ours, if any
    const binary = await buildVersitygw();
    const version = /versitygw-(v[^-]+)-/.exec(binary)?.[1] ?? 'unknown';
    const state: S3ServerInfo = {
      endpoint: '',
      region: REGION,
      accessKeyId: previous?.accessKeyId ?? `UPSCALE${randomBytes(8).toString('hex').toUpperCase()}`,
      secretAccessKey: previous?.secretAccessKey ?? randomBytes(24).toString('base64url'),
      version,
      sidecar: previous?.sidecar ?? false,
    };
    for (let attempt = 0; ; attempt++) {
      state.endpoint = `http://127.0.0.1:${await freeLoopbackPort()}`;
      writeFileSync(p.log, ''); // one start per log, so the xattr check reads only this attempt
      const outcome = await launch(binary, state, root).catch((error: unknown) => {
        if (attempt < 2) return 'retry' as const; // e.g. the free port was taken meanwhile
        throw error;
      });
      if (outcome === 'ok') break;
      if (outcome === 'xattr') {
        state.sidecar = true; // no user xattrs here: keep metadata in a sidecar folder instead
      }
    }
    writeFileSync(p.state, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    writeFileSync(p.envFile, envFileText(state), { mode: 0o600 });
    return { ...state, started: true };
  });
}

/** Stops the server started by {@link startS3Server} (only that process); returns whether one ran. */
export async function stopS3Server(root: string = repoRoot): Promise<boolean> {
  const p = s3Paths(root);
  const stopped = await stopPidFile(p.pid, 5_000);
  rmSync(p.envFile, { force: true });
  return stopped;
}
