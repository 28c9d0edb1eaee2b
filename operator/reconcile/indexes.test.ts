import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countIndexes, framesIn, framesOfShard, parseIndexes, shardCount } from './indexes.ts';

test('completed indexes in the Job controller\'s compressed form are expanded', () => {
  assert.deepEqual(parseIndexes('1,3-5,7'), [1, 3, 4, 5, 7]);
  assert.deepEqual(parseIndexes(''), []);
  assert.deepEqual(parseIndexes(undefined), []);
  assert.deepEqual(parseIndexes('0-2,x,9'), [0, 1, 2, 9]);
  assert.equal(countIndexes('0-9999'), 10_000);
});

test('frames of completed shards come from the plan\'s run-length sizes', () => {
  const runs = [[300, 3], [120, 1]] as const;
  assert.equal(shardCount(runs), 4);
  assert.equal(framesOfShard(2, runs), 300);
  assert.equal(framesOfShard(3, runs), 120);
  assert.equal(framesOfShard(4, runs), undefined);
  assert.equal(framesIn([0, 3], runs), 420);
  assert.equal(framesIn([0, 1, 2, 3], runs), 1020);
});
