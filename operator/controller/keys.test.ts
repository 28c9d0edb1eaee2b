import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keyOf, splitKey } from './keys.ts';

test('namespaced objects key as namespace/name and split back', () => {
  const key = keyOf({ metadata: { namespace: 'videos', name: 'trailer' } });
  assert.equal(key, 'videos/trailer');
  assert.deepEqual(splitKey(key), { namespace: 'videos', name: 'trailer' });
});

test('cluster-scoped objects key as their name alone', () => {
  assert.equal(keyOf({ metadata: { name: 'gpu-node-1' } }), 'gpu-node-1');
  assert.equal(keyOf({ metadata: { name: 'n', namespace: '' } }), 'n');
  assert.deepEqual(splitKey('gpu-node-1'), { namespace: undefined, name: 'gpu-node-1' });
});
