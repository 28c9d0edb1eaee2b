import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upscaleJobSpecSchema, type UpscaleJob, type UpscaleJobSpecInput } from '../api/upscalejob.ts';
import { operatorConfigSchema } from '../config.ts';
import { assembleJob, probeJob, shardJob } from './job-specs.ts';
import { childName } from './names.ts';
import { assembleTaskSchema, probeTaskSchema } from '../../worker/task.ts';

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

function shardSettingsOf(spec: Partial<UpscaleJobSpecInput>, planned: Parameters<typeof shardJob>[2] = plan): Record<string, unknown> {
  const args = shardJob(job(spec), config, planned).spec!.template.spec!.containers[0]!.args!;
  return (JSON.parse(args[2]!) as { settings: Record<string, unknown> }).settings;
}

test('scale, width/height and deinterlace reach every shard; no scale leaves the model\'s own', () => {
  const plain = shardSettingsOf({});
  assert.equal(plain['scale'], undefined);
  assert.equal(plain['width'], undefined);
  assert.equal(plain['deinterlace'], 'auto');
  assert.equal(shardSettingsOf({ scale: 2 })['scale'], 2);
  const sized = shardSettingsOf({ width: 1280, height: 720, deinterlace: 'off' });
  assert.deepEqual([sized['width'], sized['height'], sized['scale'], sized['deinterlace']], [1280, 720, undefined, 'off']);
});

test('a single width or height is completed from the probed source size, keeping the aspect and even for 4:2:0', () => {
  const probed = { ...plan, width: 720, height: 480 };
  const byWidth = shardSettingsOf({ width: 1920 }, probed);
  assert.deepEqual([byWidth['width'], byWidth['height']], [1920, 1280]);
  // 301 * 720 / 480 = 451.5 -> 452 (rounded), already even; the odd height 301 becomes 300.
  const byHeight = shardSettingsOf({ height: 301 }, probed);
  assert.deepEqual([byHeight['width'], byHeight['height']], [452, 300]);
  // ffv1 can keep odd sizes (deep sources are 4:4:4); the shard step rounds where it must.
  const lossless = shardSettingsOf({ output: 's3://out/a.mkv', height: 301, encode: { codec: 'ffv1' } }, probed);
  assert.deepEqual([lossless['width'], lossless['height']], [452, 301]);
  assert.throws(() => shardJob(job({ width: 1920 }), config, plan), /spec\.width alone needs the source size/);
});

test('with no codec, a .webm output gets av1, a deep source hevc (Main 10) and others h264, as upscale run decides', () => {
  assert.equal(shardSettingsOf({ output: 's3://out/a.webm' })['codec'], 'av1');
  assert.equal(shardSettingsOf({})['codec'], 'h264');
  assert.equal(shardSettingsOf({}, { ...plan, bitDepth: 8 })['codec'], 'h264');
  assert.equal(shardSettingsOf({}, { ...plan, bitDepth: 10 })['codec'], 'hevc');
  assert.equal(shardSettingsOf({ output: 's3://out/a.webm' }, { ...plan, bitDepth: 10 })['codec'], 'av1');
  assert.equal(shardSettingsOf({ encode: { codec: 'h264' } }, { ...plan, bitDepth: 10 })['codec'], 'h264');
  assert.equal(shardSettingsOf({ output: 's3://out/a.mkv', encode: { codec: 'ffv1' } })['codec'], 'ffv1');
});

test('child names are deterministic and short enough for Indexed Job hostnames', () => {
  const long = 'a'.repeat(200);
  assert.equal(childName('clip', 'shards'), 'clip-shards');
  assert.equal(childName(long, 'shards'), childName(long, 'shards'));
  assert.ok(childName(long, 'shards').length <= 52);
  assert.notEqual(childName(`${long}x`, 'shards'), childName(`${long}y`, 'shards'));
});

const taskOf = (j: UpscaleJob): Record<string, unknown> => {
  const args = probeJob(j, config).spec!.template.spec!.containers[0]!.args!;
  return JSON.parse(args[args.indexOf('--task') + 1]!) as Record<string, unknown>;
};

test('spec.segment reaches the probe task, which the worker validates; no segment, no field', () => {
  const segmented = taskOf(job({ segment: { start: 62.5, frames: 48 } }));
  assert.deepEqual(segmented['segment'], { start: 62.5, frames: 48 });
  assert.deepEqual(probeTaskSchema.parse(segmented).segment, { start: 62.5, frames: 48 });
  assert.equal('segment' in taskOf(job()), false);
});

test('spec.inputLimits reaches the probe task as limits; absent, the worker defaults apply', () => {
  const limited = taskOf(job({ inputLimits: { maxPixels: 3840 * 2160 } }));
  assert.deepEqual(limited['limits'], { maxPixels: 3840 * 2160 });
  assert.deepEqual(probeTaskSchema.parse(limited).limits, { maxPixels: 3840 * 2160, maxStreams: 64 });
  assert.equal('limits' in taskOf(job()), false);
});

test('shard pods leave a lost node after 30 s, not Kubernetes\' 300 s; probe and assemble pods keep the default', () => {
  const lost = (seconds: number) => ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'].map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds }));
  assert.deepEqual(shardJob(job(), config, plan).spec!.template.spec!.tolerations, lost(30));
  assert.equal(probeJob(job(), config).spec!.template.spec!.tolerations, undefined);
  assert.equal(assembleJob(job(), config).spec!.template.spec!.tolerations, undefined);
  const tuned = operatorConfigSchema.parse({ ...config, shardNodeLossTolerationSeconds: 5 });
  assert.deepEqual(shardJob(job(), tuned, plan).spec!.template.spec!.tolerations, lost(5));
});

test('a podTemplate toleration of a node-loss taint wins over the operator\'s; other tolerations are kept beside it', () => {
  type Tolerations = NonNullable<NonNullable<NonNullable<UpscaleJobSpecInput['podTemplate']>['spec']>['tolerations']>;
  const cases: Array<{ name: string; tolerations: Tolerations; added: string[] }> = [
    { name: 'a GPU taint only', tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }], added: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'] },
    { name: 'unreachable for 1 s', tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 1 }], added: ['node.kubernetes.io/not-ready'] },
    { name: 'not-ready forever (no effect: all effects)', tolerations: [{ key: 'node.kubernetes.io/not-ready', operator: 'Exists' }], added: ['node.kubernetes.io/unreachable'] },
    { name: 'every taint (empty key, Exists)', tolerations: [{ operator: 'Exists' }], added: [] },
    { name: 'unreachable, but only its NoSchedule effect', tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoSchedule' }], added: ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'] },
  ];
  for (const c of cases) {
    const got = shardJob(job({ podTemplate: { spec: { tolerations: c.tolerations } } }), config, plan).spec!.template.spec!.tolerations!;
    assert.deepEqual(got.slice(0, c.tolerations.length), c.tolerations, `${c.name}: the user's tolerations come first, unchanged`);
    assert.deepEqual(got.slice(c.tolerations.length), c.added.map((key) => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 })), c.name);
  }
  // Probe and assemble pods get the user's tolerations as they are.
  const t = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists' as const, effect: 'NoExecute' as const, tolerationSeconds: 1 }];
  assert.deepEqual(probeJob(job({ podTemplate: { spec: { tolerations: t } } }), config).spec!.template.spec!.tolerations, t);
});

test('an assemble Job made early differs from a late one only in its task\'s waitForShards; the same inputs give the same Job', () => {
  const j = job({ podTemplate: { metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'gpu-queue' } } } });
  const late = assembleJob(j, config);
  const early = assembleJob(j, config, { waitForShards: true });
  assert.deepEqual(assembleJob(j, config, { waitForShards: true }), early);
  assert.deepEqual(assembleJob(j, config, { waitForShards: false }), late);
  const argsOf = (built: typeof late) => built.spec!.template.spec!.containers[0]!.args!;
  const taskOf = (built: typeof late) => assembleTaskSchema.parse(JSON.parse(argsOf(built)[argsOf(built).indexOf('--task') + 1]!));
  assert.equal(taskOf(early).waitForShards, true);
  assert.equal(taskOf(late).waitForShards, false);
  assert.deepEqual({ ...taskOf(early), waitForShards: false }, taskOf(late));
  // Everything else, quota (resources), queue label and retries included, is the same.
  const withoutTask = (built: typeof late) => {
    const copy = structuredClone(built);
    const args = argsOf(copy);
    args[args.indexOf('--task') + 1] = 'TASK';
    return copy;
  };
  assert.deepEqual(withoutTask(early), withoutTask(late));
  assert.equal(early.spec!.suspend, undefined, 'Kueue\'s webhook suspends a queued Job; the operator never sets or writes it');
});
