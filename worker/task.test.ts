import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from './errors.ts';
import { assembleTaskSchema, parseTask, probeTaskSchema, shardTaskSchema, taskSchema } from './task.ts';

const base = { version: 1, jobId: 'job-1', input: 's3://in/a.mp4', output: 's3://out/a.mp4' };

describe('task schema', () => {
  it('fills the defaults of a shard task', () => {
    const task = parseTask(shardTaskSchema, { ...base, step: 'shard', shard: 3 }, 'test');
    assert.equal(task.settings.model, 'realesr-general-x4v3');
    assert.equal(task.settings.codec, 'h264');
    assert.equal(task.settings.tile, 'auto');
    assert.equal(task.settings.ep, 'auto');
    assert.equal(task.shard, 3);
  });

  it('fills the defaults of probe and assemble tasks', () => {
    assert.deepEqual(parseTask(probeTaskSchema, { ...base, step: 'probe' }, 'test').plan, { workers: 1 });
    const assemble = parseTask(assembleTaskSchema, { ...base, step: 'assemble' }, 'test');
    assert.equal(assemble.overwrite, false);
    assert.equal(assemble.keepIntermediates, false);
  });

  it('picks the schema from the step', () => {
    assert.equal(taskSchema.parse({ ...base, step: 'assemble' }).step, 'assemble');
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['another schema version', { ...base, version: 2, step: 'probe' }, /version/],
    ['a job id that climbs out of the prefix', { ...base, jobId: '../x', step: 'probe' }, /jobId/],
    ['a job id with a ".." inside, which the layout would refuse', { ...base, jobId: 'a..b', step: 'probe' }, /jobId/],
    ['an empty input', { ...base, input: '', step: 'probe' }, /input/],
    ['an unknown codec', { ...base, step: 'shard', settings: { codec: 'mpeg2' } }, /settings\.codec/],
    ['an outscale of 5', { ...base, step: 'shard', settings: { scale: 5 } }, /settings\.scale/],
    ['a negative shard', { ...base, step: 'shard', shard: -1 }, /shard/],
    ['a preset with shell characters', { ...base, step: 'shard', settings: { preset: 'fast; rm -rf /' } }, /settings\.preset/],
  ];
  for (const [name, value, field] of bad) {
    it(`rejects ${name}, naming the field`, () => {
      const schema = value['step'] === 'shard' ? shardTaskSchema : probeTaskSchema;
      assert.throws(() => parseTask(schema, value, 'task.json'), (error: unknown) => {
        assert.ok(error instanceof UpscaleError);
        assert.equal(error.code, 'InvalidArgument');
        assert.equal(error.permanent, true);
        assert.match(error.message, /task\.json/);
        assert.match(error.message, field);
        return true;
      });
    });
  }
});
