import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countWrites, total } from './audit-writes.ts';

const line = (user: string, verb: string, resource: string, namespace: string, subresource?: string, stage = 'ResponseComplete'): string =>
  JSON.stringify({ kind: 'Event', level: 'Metadata', stage, verb, user: { username: user }, objectRef: { resource, namespace, ...(subresource ? { subresource } : {}) } });

test('writes are counted per client and verb/resource, only completed ones, only in the kept namespaces', () => {
  const op = 'system:serviceaccount:upscale-system:upscale-operator';
  const lines = [
    line(op, 'create', 'jobs', 'bench'),
    line(op, 'update', 'upscalejobs', 'bench', 'status'),
    line(op, 'update', 'upscalejobs', 'bench', 'status'),
    line(op, 'update', 'upscalejobs', 'bench', 'status', 'ResponseStarted'),
    line('system:kube-scheduler', 'create', 'pods', 'bench', 'binding'),
    line('system:node:agent-0', 'patch', 'pods', 'bench', 'status'),
    line('system:node:agent-0', 'patch', 'pods', 'other'),
    '{"cut',
    '',
  ];
  const w = countWrites(lines, (ns) => ns === 'bench');
  assert.deepEqual(w[op], { 'create jobs': 1, 'update upscalejobs/status': 2 });
  assert.deepEqual(w['system:kube-scheduler'], { 'create pods/binding': 1 });
  assert.equal(total(w, op), 3);
  assert.equal(total(w), 5);
  assert.equal(total(w, 'nobody'), 0);
});
