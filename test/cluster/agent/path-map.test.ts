import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rewritePaths } from './path-map.ts';

const maps = [
  { containerPath: '/data', hostPath: '/h/vol/data' },
  { containerPath: '/data/cache', hostPath: '/h/vol/cache' },
  { containerPath: '/dev/termination-log', hostPath: '/h/term' },
];

test('container paths are rewritten as whole path prefixes, longest first', () => {
  assert.equal(rewritePaths('/data/in.mp4', maps), '/h/vol/data/in.mp4');
  assert.equal(rewritePaths('/data/cache/x', maps), '/h/vol/cache/x');
  assert.equal(rewritePaths('--result=/dev/termination-log', maps), '--result=/h/term');
  assert.equal(rewritePaths('echo hi > /dev/termination-log; cat /data', maps), 'echo hi > /h/term; cat /h/vol/data');
});

test('paths that only share a prefix or sit inside other words are left alone', () => {
  assert.equal(rewritePaths('/database/x', maps), '/database/x');
  assert.equal(rewritePaths('s3://bucket/data/x', maps), 's3://bucket/data/x');
});

test('paths after shell redirections and in subshells are rewritten', () => {
  assert.equal(rewritePaths('echo x >/data/a; v=$(cat /data/a)', maps), 'echo x >/h/vol/data/a; v=$(cat /h/vol/data/a)');
});
