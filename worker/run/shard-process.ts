/**
 * A long-lived local shard worker, forked by `upscale run` (local-pool.ts) when it runs more than one
 * worker. It creates its engine once, then runs the shard tasks its parent sends over IPC one at a
 * time, so a model is loaded once per worker instead of once per shard.
 *
 * Protocol (parent -> child): `{ type: 'shard', task }`, `{ type: 'exit' }`.
 * (child -> parent): `{ type: 'ready' }`, `{ type: 'progress', shard, done }`,
 * `{ type: 'done', result }`, `{ type: 'failed', shard, error: { code, kind, message } }`.
 */
import pino from 'pino';
import { EXIT_OK, EXIT_TRANSIENT, inStep } from '../errors.ts';
import { createEngine, type Engine } from '../engine/engine.ts';
import { runShardStep } from '../steps/shard-step.ts';
import { engineHooksFor, engineOptionsFor } from '../steps/engine-options.ts';
import { Storage } from '../storage/storage.ts';
import { shardTaskSchema, type ShardTask } from '../task.ts';

export type ParentMessage = { type: 'shard'; task: ShardTask } | { type: 'exit' };
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; shard: number; done: number }
  | { type: 'done'; result: Awaited<ReturnType<typeof runShardStep>> }
  | { type: 'failed'; shard: number | undefined; error: { code: string; kind: string; message: string } };

function send(message: ChildMessage): void {
  process.send?.(message);
}

const log = pino({ level: process.env['UPSCALE_LOG_LEVEL'] ?? 'info', base: { worker: process.env['UPSCALE_WORKER_ID'] ?? String(process.pid) } }, pino.destination(2));
const storage = new Storage();
let engine: Engine | undefined;
let busy: Promise<void> = Promise.resolve();

async function runOne(raw: ShardTask): Promise<void> {
  let shard: number | undefined;
  try {
    const task = shardTaskSchema.parse(raw);
    shard = task.shard;
    const threads = process.env['UPSCALE_CPU_THREADS'];
    const settings = task.settings;
    const engineFor = async (): Promise<Engine> =>
      (engine ??= await createEngine(engineOptionsFor(settings, threads ? { cpuThreads: Number(threads) } : {}), engineHooksFor(storage, log)));
    const result = await runShardStep(task, storage, log, { engine: engineFor, onFrame: (done) => send({ type: 'progress', shard: task.shard ?? -1, done }) });
    send({ type: 'done', result });
  } catch (caught) {
    const error = inStep(caught, 'shard');
    log.error({ shard, code: error.code, err: error }, 'Failed shard');
    send({ type: 'failed', shard, error: { code: error.code, kind: error.kind, message: error.message } });
  }
}

let exiting = false;
process.on('message', (message: ParentMessage) => {
  if (message.type === 'exit') {
    exiting = true;
    void busy.then(async () => {
      await engine?.close();
      storage.close();
      process.exit(EXIT_OK);
    });
    return;
  }
  busy = busy.then(() => runOne(message.task));
});
process.on('disconnect', () => {
  // The parent died or gave up: stop at once; unfinished shards are redone on the next run.
  if (!exiting) process.exit(EXIT_TRANSIENT);
});
send({ type: 'ready' });
