import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { UpscaleError } from '../errors.ts';
import { shardTaskSchema } from '../task.ts';
import { runShardsLocally } from './local-pool.ts';

const log = pino({ level: 'silent' });
const tasks = [0, 1, 2].map((shard) =>
  shardTaskSchema.parse({ version: 1, step: 'shard', jobId: 'pool-test', input: '/nonexistent/in.mp4', output: '/nonexistent/out.mp4', shard }),
);

describe('runShardsLocally', () => {
  it('fails the run, instead of waiting forever, when every worker dies at start-up', async () => {
    const run = runShardsLocally(tasks, { workers: 2, log, envFor: () => ({ NODE_OPTIONS: '--import=/nonexistent/preload.mjs' }) });
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, 'Unavailable');
      assert.match(error.message, /every local worker exited/);
      return true;
    });
  });

  it('stops at a permanent shard failure and reports it with its code', async () => {
    // The plan of this job does not exist: each worker reports NotFound for its shard.
    const run = runShardsLocally(tasks, { workers: 2, log, envFor: () => ({ UPSCALE_LOG_LEVEL: 'silent' }) });
    await assert.rejects(run, (error: unknown) => {
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, 'NotFound');
      assert.equal(error.kind, 'permanent');
      assert.match(error.message, /plan\.json/);
      return true;
    });
  });
});
