import assert from 'node:assert/strict';
import { test } from 'node:test';
import { V1Container, V1ObjectMeta, V1Pod, V1PodCondition, V1PodSpec, V1PodStatus } from '@kubernetes/client-node';
import { formatTime, toWire } from './wire.ts';

/** A pod as the API server sends it. */
const wirePod = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'ns', resourceVersion: '7', creationTimestamp: '2024-05-01T10:00:00Z', labels: { a: 'b' } },
  spec: { containers: [{ name: 'c', image: 'busybox' }] },
  status: { phase: 'Running', startTime: '2024-05-01T10:00:03Z', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2024-05-01T10:00:04Z' }] },
};

test('a pod from a typed LIST and the same pod from a WATCH normalise to the same JSON', () => {
  // What the typed CoreV1Api.listNamespacedPod hands out: model instances holding Dates (the
  // informer test reads the same through a real CoreV1Api).
  const typed = Object.assign(new V1Pod(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: Object.assign(new V1ObjectMeta(), { name: 'p', namespace: 'ns', resourceVersion: '7', creationTimestamp: new Date('2024-05-01T10:00:00Z'), labels: { a: 'b' } }),
    spec: Object.assign(new V1PodSpec(), { containers: [Object.assign(new V1Container(), { name: 'c', image: 'busybox' })] }),
    status: Object.assign(new V1PodStatus(), {
      phase: 'Running',
      startTime: new Date('2024-05-01T10:00:03Z'),
      conditions: [Object.assign(new V1PodCondition(), { type: 'Ready', status: 'True', lastTransitionTime: new Date('2024-05-01T10:00:04Z') })],
    }),
  });
  assert.ok(typed.metadata?.creationTimestamp instanceof Date, 'precondition: LIST objects carry Dates');
  const fromList = toWire(typed);
  const fromWatch = toWire(structuredClone(wirePod));
  assert.deepEqual(fromList, fromWatch);
  assert.equal(fromList.metadata?.creationTimestamp, '2024-05-01T10:00:00Z');
  assert.equal(fromList.status?.conditions?.[0]?.lastTransitionTime, '2024-05-01T10:00:04Z');
  assert.equal(Object.getPrototypeOf(fromList), Object.prototype);
});

test('wire JSON is returned as is, without a copy', () => {
  const obj = structuredClone(wirePod);
  assert.equal(toWire(obj), obj);
});

test('only the changed branch is copied; siblings are shared', () => {
  const obj = { metadata: { creationTimestamp: new Date('2024-05-01T10:00:00Z') }, spec: { x: [1, 2] } };
  const w = toWire(obj);
  assert.equal(w.metadata.creationTimestamp, '2024-05-01T10:00:00Z');
  assert.equal(w.spec, obj.spec);
  assert.ok(obj.metadata.creationTimestamp instanceof Date, 'the input is not mutated');
});

test('undefined fields are dropped and undefined array elements become null, as in JSON', () => {
  const w = toWire({ a: undefined, b: 1, c: [undefined, 2, new Date(0)] });
  assert.deepEqual(w, { b: 1, c: [null, 2, '1970-01-01T00:00:00Z'] });
  assert.equal(JSON.stringify(w), '{"b":1,"c":[null,2,"1970-01-01T00:00:00Z"]}');
});

test('times keep milliseconds when they have some; invalid dates become null', () => {
  assert.equal(formatTime(new Date('2024-05-01T10:00:05.123Z')), '2024-05-01T10:00:05.123Z');
  assert.equal(formatTime(new Date('2024-05-01T10:00:05Z')), '2024-05-01T10:00:05Z');
  assert.equal(formatTime(new Date('not a time')), null);
});
