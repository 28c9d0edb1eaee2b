import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upscaleJobSpecSchema, type UpscaleJob, type UpscaleJobSpecInput } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { assembleJob, probeJob, shardJob } from './job-specs.ts';
import { childName } from './names.ts';

const config = operatorConfigSchema.parse({ workerImage: 'example.com/upscale-operator:1', storage: { endpoint: 'http://minio:9000', secretName: 'default-s3' } });
function job(spec: Partial<UpscaleJobSpecInput> = {}): UpscaleJob {
  return {
    apiVersion: 'upscale.dev/v1alpha1',
    kind: 'UpscaleJob',
    metadata: { name: 'clip', namespace: 'media', uid: '11111111-2222-4333-8444-555555555555' },
    spec: upscaleJobSpecSchema.parse({ input: 's3://in/a.mp4', output: 's3://out/a.mp4', ...spec }),
  };
}
const plan = { frames: 90, shards: 3, shardFrames: [[30, 3]] as Array<[number, number]> };

test('shard pods request the GPUs, run restricted and read-only, and write only to the scratch volume', () => {
  const j = shardJob(job({ resources: { gpusPerShard: 2, gpuResourceName: 'amd.com/gpu', memory: '16Gi' } }), config, plan);
  const pod = j.spec!.template.spec!;
  const c = pod.containers[0]!;
  assert.deepEqual(c.resources?.limits, { 'amd.com/gpu': '2', memory: '16Gi' });
  assert.equal(c.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c.securityContext?.capabilities?.drop, ['ALL']);
  assert.equal(pod.securityContext?.runAsNonRoot, true);
  assert.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault');
  assert.equal(c.env?.find((e) => e.name === 'TMPDIR')?.value, '/scratch');
  assert.deepEqual(c.volumeMounts, [{ name: 'scratch', mountPath: '/scratch' }]);
  assert.equal(pod.restartPolicy, 'Never');
  assert.equal(pod.automountServiceAccountToken, false);
});

test('no GPU is requested when gpusPerShard is 0', () => {
  const c = shardJob(job({ resources: { gpusPerShard: 0 } }), config, plan).spec!.template.spec!.containers[0]!;
  assert.deepEqual(c.resources?.limits, {});
});

test('the shard Job is Indexed with per-index retries, and its failure policy fails on exit 2 and ignores disruptions', () => {
  const spec = shardJob(job({ backoffLimitPerShard: 5, sharding: { parallelism: 2 } }), config, plan).spec!;
  assert.equal(spec.completionMode, 'Indexed');
  assert.equal(spec.completions, 3);
  assert.equal(spec.parallelism, 2);
  assert.equal(spec.backoffLimitPerIndex, 5);
  assert.equal(spec.maxFailedIndexes, 0);
  assert.equal(spec.podReplacementPolicy, 'Failed');
  assert.equal(spec.backoffLimit, undefined, 'backoffLimit would cap retries across all indexes');
  const rules = spec.podFailurePolicy!.rules;
  assert.deepEqual(rules[0], { action: 'FailJob', onExitCodes: { containerName: 'worker', operator: 'In', values: [2] } });
  assert.deepEqual(rules[1], { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] });
});

test('credentials reach the pods only by Secret reference; storage settings by the AWS environment', () => {
  const env = probeJob(job({ storage: { secretRef: { name: 's3-creds' }, region: 'eu-west-1' } }), config).spec!.template.spec!.containers[0]!.env!;
  assert.deepEqual(env.find((e) => e.name === 'AWS_ACCESS_KEY_ID')?.valueFrom, { secretKeyRef: { name: 's3-creds', key: 'AWS_ACCESS_KEY_ID' } });
  assert.equal(env.find((e) => e.name === 'AWS_ENDPOINT_URL')?.value, 'http://minio:9000', 'the operator default fills the gap');
  assert.equal(env.find((e) => e.name === 'AWS_REGION')?.value, 'eu-west-1');
  assert.ok(env.every((e) => e.value === undefined || !/secret/i.test(e.name)));
});

test('podTemplate labels and scheduling reach every Job and pod; the operator\'s labels cannot be overridden', () => {
  const j = job({
    podTemplate: {
      metadata: { labels: { team: 'media', 'app.kubernetes.io/managed-by': 'someone-else' }, annotations: { cost: 'x' } },
      spec: { nodeSelector: { 'nvidia.com/gpu.product': 'H100' }, tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], priorityClassName: 'batch' },
    },
  });
  for (const built of [probeJob(j, config), shardJob(j, config, plan), assembleJob(j, config)]) {
    assert.equal(built.metadata!.labels!['team'], 'media');
    assert.equal(built.spec!.template.metadata!.labels!['team'], 'media');
    assert.equal(built.spec!.template.metadata!.labels!['app.kubernetes.io/managed-by'], 'upscale-operator');
    assert.equal(built.spec!.template.metadata!.annotations!['cost'], 'x');
    assert.equal(built.spec!.template.spec!.nodeSelector!['nvidia.com/gpu.product'], 'H100');
    assert.equal(built.spec!.template.spec!.priorityClassName, 'batch');
    assert.equal(built.metadata!.ownerReferences![0]!.controller, true);
  }
});

test('the pods run the worker steps with the task contract, and auto encoder is fixed for the whole job', () => {
  const args = shardJob(job({ encode: { codec: 'hevc', crf: 18 } }), config, plan).spec!.template.spec!.containers[0]!.args!;
  assert.equal(args[0], 'shard');
  const task = JSON.parse(args[2]!) as { settings: Record<string, unknown>; jobId: string };
  assert.equal(task.jobId, '11111111-2222-4333-8444-555555555555');
  assert.equal(task.settings['codec'], 'hevc');
  assert.equal(task.settings['crf'], 18);
  assert.equal(task.settings['encoder'], 'cpu');
  assert.deepEqual(args.slice(3), ['--result-file', '/dev/termination-log']);
});

test('child names are deterministic and short enough for Indexed Job hostnames', () => {
  const long = 'a'.repeat(200);
  assert.equal(childName('clip', 'shards'), 'clip-shards');
  assert.equal(childName(long, 'shards'), childName(long, 'shards'));
  assert.ok(childName(long, 'shards').length <= 52);
  assert.notEqual(childName(`${long}x`, 'shards'), childName(`${long}y`, 'shards'));
});
