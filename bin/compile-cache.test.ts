/**
 * Where the `upscale` command keeps Node's compile cache: Node's own variable first, then the
 * user's cache folder; never a shared temporary folder; off when asked.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCacheDir } from './compile-cache.js';

test('NODE_COMPILE_CACHE wins, then XDG_CACHE_HOME, then ~/.cache', () => {
  assert.equal(compileCacheDir({ NODE_COMPILE_CACHE: '/img/cache', XDG_CACHE_HOME: '/x' }, '/home/u'), '/img/cache');
  assert.equal(compileCacheDir({ XDG_CACHE_HOME: '/x' }, '/home/u'), '/x/upscale-operator/node-compile-cache');
  assert.equal(compileCacheDir({}, '/home/u'), '/home/u/.cache/upscale-operator/node-compile-cache');
});

test('no home and no cache folder, or NODE_DISABLE_COMPILE_CACHE: no cache', () => {
  assert.equal(compileCacheDir({}, ''), undefined);
  assert.equal(compileCacheDir({ NODE_DISABLE_COMPILE_CACHE: '1', NODE_COMPILE_CACHE: '/img/cache' }, '/home/u'), undefined);
});
