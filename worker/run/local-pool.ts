/**
 * Runs a job's shards on N local worker processes (shard-process.ts), handing each idle worker the
 * next shard (dynamic dispatch: a slow worker never holds the others back).
 *
 * A shard that fails transiently (or whose worker dies) is retried once on another worker; a
 * permanent failure stops every worker and fails the run, since retrying cannot help. Shards that
 * finished stay finished: their manifests let the next run skip them.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from 'pino';
import { UpscaleError, type ErrorCode, type ErrorKind } from '../errors.ts';
import type { ShardStepResult } from '../steps/shard-step.ts';
import type { ShardTask } from '../task.ts';
import type { ChildMessage, ParentMessage } from './shard-process.ts';

export type WorkerState = 'starting' | 'idle' | 'busy' | 'exited';

export interface PoolHooks {
  /** Frames finished so far in `shard` by `worker`. */
  onProgress?: (worker: number, shard: number, done: number) => void;
  onShardDone?: (worker: number, result: ShardStepResult) => void;
  onWorkerState?: (worker: number, state: WorkerState, shard?: number) => void;
  signal?: AbortSignal;
}

export interface PoolOptions {
  workers: number;
  /** Extra environment for worker `i` (GPU assignment, CPU threads). */
  envFor: (worker: number) => Record<string, string>;
  log: Logger;
}

const MAX_ATTEMPTS = 2;
const SHARD_PROCESS = new URL('./shard-process.ts', import.meta.url);

interface Slot {
  id: number;
  child: ChildProcess;
  shard: number | undefined;
  alive: boolean;
}

/** Runs every task; resolves with their results in shard order, or rejects with the first permanent error. */
export async function runShardsLocally(tasks: readonly ShardTask[], options: PoolOptions, hooks: PoolHooks = {}): Promise<ShardStepResult[]> {
  const queue = tasks.map((task) => task.shard ?? 0);
  const byShard = new Map(tasks.map((task) => [task.shard ?? 0, task]));
  const attempts = new Map<number, number>();
  const results = new Map<number, ShardStepResult>();
  const slots: Slot[] = [];

  return new Promise<ShardStepResult[]>((resolve, reject) => {
    let failed = false;
    const finish = (error?: UpscaleError): void => {
      if (failed) return;
      if (error !== undefined) failed = true;
      for (const slot of slots) {
        if (!slot.alive) continue;
        if (error !== undefined) slot.child.kill('SIGTERM');
        else send(slot, { type: 'exit' });
      }
      if (error !== undefined) reject(error);
      else resolve([...results.values()].sort((a, b) => a.shard - b.shard));
    };
    const dispatch = (slot: Slot): void => {
      if (failed || !slot.alive) return;
      const shard = queue.shift();
      if (shard === undefined) {
        slot.shard = undefined;
        hooks.onWorkerState?.(slot.id, 'idle');
        if (results.size === tasks.length) finish();
        return;
      }
      attempts.set(shard, (attempts.get(shard) ?? 0) + 1);
      slot.shard = shard;
      hooks.onWorkerState?.(slot.id, 'busy', shard);
      send(slot, { type: 'shard', task: byShard.get(shard) as ShardTask });
    };
    const retryOrFail = (shard: number, error: UpscaleError): void => {
      if (error.kind === 'transient' && (attempts.get(shard) ?? 0) < MAX_ATTEMPTS && slots.some((s) => s.alive)) {
        options.log.warn({ shard, err: error }, 'Retrying shard after a transient failure');
        queue.unshift(shard);
        for (const slot of slots) if (slot.alive && slot.shard === undefined) dispatch(slot);
        return;
      }
      finish(error);
    };

    hooks.signal?.addEventListener('abort', () => finish(new UpscaleError('Cancelled', 'run interrupted; finished shards are kept and the next run resumes', { subject: 'run' })), { once: true });

    for (let id = 0; id < Math.min(options.workers, tasks.length); id++) {
      const child = fork(SHARD_PROCESS, [], {
        env: { ...process.env, ...options.envFor(id), UPSCALE_WORKER_ID: String(id) },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      const slot: Slot = { id, child, shard: undefined, alive: true };
      slots.push(slot);
      hooks.onWorkerState?.(id, 'starting');
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') dispatch(slot);
        else if (message.type === 'progress' && slot.shard !== undefined) hooks.onProgress?.(id, slot.shard, message.done);
        else if (message.type === 'done') {
          results.set(message.result.shard, message.result);
          hooks.onShardDone?.(id, message.result);
          dispatch(slot);
        } else if (message.type === 'failed') {
          const shard = slot.shard ?? message.shard ?? -1;
          slot.shard = undefined;
          const { code, kind, message: text } = message.error;
          retryOrFail(shard, new UpscaleError(code as ErrorCode, text, { kind: kind as ErrorKind, subject: `shard ${shard}` }));
          dispatch(slot);
        }
      });
      child.on('exit', (code, signal) => {
        slot.alive = false;
        hooks.onWorkerState?.(id, 'exited');
        const shard = slot.shard;
        const cause = signal !== null ? `signal ${signal}` : `exit code ${code}`;
        if (failed || results.size === tasks.length) return;
        if (shard !== undefined) {
          slot.shard = undefined;
          retryOrFail(shard, new UpscaleError('Unavailable', `shard: worker ${id} died (${cause}) while running shard ${shard}`, { subject: `shard ${shard}` }));
        }
        // A worker that dies before taking work (a crash at start-up) must not leave the run waiting.
        if (!failed && !slots.some((s) => s.alive)) {
          finish(new UpscaleError('Unavailable', `every local worker exited (the last with ${cause}) before all shards were done`, { subject: 'run' }));
        }
      });
    }
  });
}

function send(slot: Slot, message: ParentMessage): void {
  if (slot.alive && slot.child.connected) slot.child.send(message);
}
