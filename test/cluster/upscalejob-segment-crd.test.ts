/**
 * spec.segment of the UpscaleJob CRD against the real API server: a segment is stored as written
 * (seconds or frame numbers), each invalid one is rejected at admission naming the field, as zod
 * does, and a segment cannot change once the job exists (its shards hold the frames it selected).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_VERSION, GROUP, KIND, MESSAGES, PLURAL, VERSION, upscaleJobSpecSchema } from '../../operator/api/upscalejob.ts';
import { ensureCrd, rejection } from './crd-support.ts';
import { useCluster } from './harness.ts';

const cluster = await useCluster();
await ensureCrd(cluster);

type Spec = Record<string, unknown>;
const minimal = { input: 's3://videos/in.mp4', output: 's3://videos/out.mp4' };
const job = (name: string, spec: Spec) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec });
const api = { group: GROUP, version: VERSION, plural: PLURAL };

test('segments in seconds and in frames are stored as written, and zod agrees', async (t) => {
  const namespace = await cluster.namespace(t);
  const segments = [{ start: 62.5, duration: 10 }, { start: 0.25, frames: 48 }, { firstFrame: 1200, frames: 240 }, { duration: 1 }];
  for (const [i, segment] of segments.entries()) {
    const spec = { ...minimal, segment };
    await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job(`seg-${i}`, spec), fieldValidation: 'Strict' });
    const read = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: `seg-${i}` })) as { spec: Spec };
    assert.deepEqual(read.spec['segment'], segment);
    assert.deepEqual(read.spec, upscaleJobSpecSchema.parse(spec), JSON.stringify(segment));
  }
});

const INVALID: [string, Spec, string, string | RegExp][] = [
  ['a zero duration', { duration: 0 }, 'spec.segment.duration', MESSAGES.segmentDuration],
  ['a negative duration', { start: 1, duration: -2 }, 'spec.segment.duration', MESSAGES.segmentDuration],
  ['a negative start', { start: -1 }, 'spec.segment.start', /greater than or equal to 0/],
  ['zero frames', { frames: 0 }, 'spec.segment.frames', /greater than or equal to 1/],
  ['duration and frames', { duration: 2, frames: 10 }, 'spec.segment.frames', MESSAGES.segmentLength],
  ['start and firstFrame', { start: 2, firstFrame: 10 }, 'spec.segment.firstFrame', MESSAGES.segmentStart],
];

test('invalid segments are rejected by the API server and zod, naming the field', async (t) => {
  const namespace = await cluster.namespace(t);
  for (const [i, [name, segment, field, says]] of INVALID.entries()) {
    await t.test(name, async () => {
      const spec = { ...minimal, segment };
      const err = await rejection(cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job(`bad-${i}`, spec) }), name);
      assert.equal(err.code, 422, err.message);
      assert.ok(err.message.includes(`${field}: `), `the error does not name ${field}: ${err.message}`);
      assert.ok(typeof says === 'string' ? err.message.includes(says) : says.test(err.message), `the error does not say ${String(says)}: ${err.message}`);
      const parsed = upscaleJobSpecSchema.safeParse(spec);
      assert.ok(!parsed.success, `zod accepts ${name}`);
      assert.deepEqual(parsed.error.issues.map((issue) => ['spec', ...issue.path].join('.')), [field], 'zod names another field');
    });
  }
});

test('a segment cannot change, be added or be removed once the job exists', async (t) => {
  const namespace = await cluster.namespace(t);
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('fixed', { ...minimal, segment: { start: 1, duration: 2 } }) });
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('whole', minimal) });
  const cases: [string, string, (spec: Spec) => Spec][] = [
    ['changed', 'fixed', (s) => ({ ...s, segment: { start: 1, duration: 3 } })],
    ['removed', 'fixed', ({ segment: _segment, ...rest }) => rest],
    ['added', 'whole', (s) => ({ ...s, segment: { start: 1 } })],
  ];
  for (const [what, name, change] of cases) {
    const current = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name })) as { spec: Spec };
    const err = await rejection(cluster.custom.replaceNamespacedCustomObject({ ...api, namespace, name, body: { ...current, spec: change(current.spec) } }), `a segment ${what}`);
    assert.equal(err.code, 422, err.message);
    assert.match(err.message, /segment is immutable/, what);
  }
});
