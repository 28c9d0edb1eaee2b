import { test } from 'node:test';
import assert from 'node:assert/strict';
import { imageRepository, resolveImage } from './image-table.ts';
import { ClusterError } from '../cluster-error.ts';

const repo = '/repo';

test('image repository drops registry host, tag and digest', () => {
  assert.equal(imageRepository('ghcr.io/acme/upscale-operator:1.2.3'), 'acme/upscale-operator');
  assert.equal(imageRepository('localhost:5000/busybox@sha256:abc'), 'busybox');
  assert.equal(imageRepository('busybox:1.37'), 'busybox');
  assert.equal(imageRepository('docker.io/library/node:24'), 'library/node');
});

test('the worker image runs bin/upscale.js with the container args', () => {
  const r = resolveImage('upscale-operator/worker:dev', undefined, ['shard', '--task', '/app/task.json'], repo);
  assert.deepEqual(r.argv, [process.execPath, '/repo/bin/upscale.js', 'shard', '--task', '/repo/task.json']);
  assert.equal(r.workdir, '/repo');
});

test('a command replaces the entrypoint and maps upscale to the repository script', () => {
  const r = resolveImage('ghcr.io/x/upscale-operator:1', ['/usr/local/bin/upscale', 'operator'], undefined, repo);
  assert.deepEqual(r.argv, [process.execPath, '/repo/bin/upscale.js', 'operator']);
});

test('busybox defaults to sh and runs host commands', () => {
  assert.deepEqual(resolveImage('busybox', undefined, undefined, repo).argv, ['/bin/sh']);
  assert.deepEqual(resolveImage('busybox', ['sh', '-c', 'echo hi'], undefined, repo).argv, ['/bin/sh', '-c', 'echo hi']);
  assert.deepEqual(resolveImage('alpine:3', ['sleep'], ['5'], repo).argv, ['sleep', '5']);
});

test('an unknown image is an ImageUnknown error naming the image', () => {
  assert.throws(
    () => resolveImage('nginx:1.27', undefined, undefined, repo),
    (err: unknown) => err instanceof ClusterError && err.code === 'ImageUnknown' && err.message.includes('nginx:1.27'),
  );
});
