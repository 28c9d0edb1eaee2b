/**
 * The UpscaleJob CRD against the real API server: it installs, the server fills in the same
 * defaults zod does, `kubectl explain` and `kubectl get uj` help a user, and every invalid spec a
 * user can write is rejected at admission with a message naming the field. Each rejection is also
 * checked against zod, so the operator's parse and the API server agree.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CHECKS, GROUP, KIND, MESSAGES, PLURAL, VERSION, API_VERSION, upscaleJobSpecSchema } from '../../operator/api/upscalejob.ts';
import { ENCODE_MESSAGES } from '../../operator/api/encode-checks.ts';
import { ensureCrd, rejection } from './crd-support.ts';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();
await ensureCrd(cluster);

type Spec = Record<string, unknown>;
const minimal = { input: 's3://videos/in.mp4', output: 's3://videos/out.mp4' };
const job = (name: string, spec: Spec) => ({ apiVersion: API_VERSION, kind: KIND, metadata: { name }, spec });
const api = { group: GROUP, version: VERSION, plural: PLURAL };

const squash = (s: string) => s.replace(/\s+/g, ' ');

/** A zod issue path as the API server writes field paths: `spec.a.b[0].c`. */
const fieldPath = (path: readonly PropertyKey[]) => path.reduce<string>((at, p) => (typeof p === 'number' ? `${at}[${p}]` : `${at}.${String(p)}`), 'spec');

test('applying the CRD again changes nothing', async () => {
  await ensureCrd(cluster);
  const crd = await cluster.apiext.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
  assert.deepEqual(crd.spec.names.shortNames, ['uj']);
});

test('a minimal job is accepted and read back with the defaults zod applies', async (t) => {
  const namespace = await cluster.namespace(t);
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('minimal', minimal) });
  const read = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'minimal' })) as { spec: Spec };
  assert.deepEqual(read.spec, upscaleJobSpecSchema.parse(minimal));
  // No codec default in the CRD: the operator picks one per output container (job-specs.ts).
  assert.equal((read.spec['encode'] as Spec)['codec'], undefined);
  assert.equal(read.spec['scale'], undefined);
  assert.equal(read.spec['deinterlace'], 'auto');
  assert.equal((read.spec['sharding'] as Spec)['parallelism'], 4);
});

test('width and height without scale are accepted, alone or together', async (t) => {
  const namespace = await cluster.namespace(t);
  for (const [name, size] of [['by-width', { width: 1920 }], ['by-height', { height: 1080 }], ['by-both', { width: 1280, height: 720 }]] as const) {
    await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job(name, { ...minimal, ...size }) });
    const read = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name })) as { spec: Spec };
    assert.deepEqual(read.spec, upscaleJobSpecSchema.parse({ ...minimal, ...size }), name);
  }
});

test('every container takes the codecs, presets and CRFs its encoder takes, any case of the extension', async (t) => {
  const namespace = await cluster.namespace(t);
  const fine: Spec[] = [
    { output: 's3://videos/OUT.MKV', encode: { codec: 'ffv1' } },
    { output: 's3://videos/out.webm', encode: { preset: '8', crf: 63 } },
    { output: 's3://videos/out.mp4', encode: { encoder: 'nvenc', preset: 'p5', crf: 21 } },
    { output: 's3://videos/out.mov', encode: { codec: 'hevc', preset: 'placebo', crf: 51 } },
    { output: 's3://videos/out.m4v', encode: { codec: 'av1', preset: '13', crf: 0 } },
    { output: 's3://videos/out.mov', encode: { codec: 'ffv1' } },
  ];
  for (const [i, spec] of fine.entries()) {
    assert.ok(upscaleJobSpecSchema.safeParse({ ...minimal, ...spec }).success, JSON.stringify(spec));
    await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job(`fine-${i}`, { ...minimal, ...spec }) });
  }
});

test('a job using every field is stored as written, affinity included', async (t) => {
  const namespace = await cluster.namespace(t);
  const full = {
    input: 'https://media.example.com/videos/in.mp4',
    output: 's3://videos/out.mkv',
    model: 's3://models/custom-x4.onnx',
    scale: 2,
    deinterlace: 'off',
    encode: { codec: 'hevc', crf: 22, preset: 'slow', encoder: 'cpu' },
    inference: { tile: 256, precision: 'fp16', executionProvider: 'tensorrt' },
    storage: { endpoint: 'http://minio.storage.svc:9000', region: 'eu-west-1', forcePathStyle: true, secretRef: { name: 's3-creds' } },
    sharding: { shards: 12, parallelism: 3 },
    resources: { gpuResourceName: 'amd.com/gpu', gpusPerShard: 2, cpu: '3500m', memory: 17179869184 },
    podTemplate: {
      metadata: { labels: { 'kueue.x-k8s.io/queue-name': 'gpu' }, annotations: { team: 'media' } },
      spec: {
        nodeSelector: { 'nvidia.com/gpu.product': 'NVIDIA-H200' },
        tolerations: [{ key: 'nvidia.com/gpu', operator: 'Exists', effect: 'NoSchedule' }, { key: 'spot', operator: 'Equal', value: 'true', effect: 'NoExecute', tolerationSeconds: 60 }],
        affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] }] } } },
        priorityClassName: 'batch-low',
        runtimeClassName: 'nvidia',
        serviceAccountName: 'upscaler',
        imagePullSecrets: [{ name: 'registry' }],
      },
    },
    image: 'registry.example.com/upscale-operator:0.1.0',
    backoffLimitPerShard: 5,
    activeDeadlineSeconds: 86400,
    ttlSecondsAfterFinished: 3600,
    suspend: true,
    overwrite: true,
    keepIntermediates: true,
  };
  assert.deepEqual(upscaleJobSpecSchema.parse(full), full, 'zod changes the full spec');
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('full', full), fieldValidation: 'Strict' });
  const read = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'full' })) as { spec: Spec };
  assert.deepEqual(read.spec, full);
});

test('kubectl explain prints the field descriptions', async () => {
  const description = squash(upscaleJobSpecSchema.shape.sharding.unwrap().shape.framesPerShard.description ?? '');
  assert.ok(description.length > 0);
  // The API server publishes a new CRD's OpenAPI a moment after it is established.
  const out = await waitFor('kubectl explain to know the field', async () => {
    const r = await cluster.kubectl(['explain', 'upscalejob.spec.sharding.framesPerShard']);
    return r.code === 0 && squash(r.stdout).includes(description) ? r.stdout : undefined;
  });
  assert.match(out, /FIELD:\s+framesPerShard\s+<integer>/);
  const spec = await cluster.kubectl(['explain', 'uj.spec']);
  assert.equal(spec.code, 0, spec.stderr);
  assert.match(squash(spec.stdout), /input\s+<string> -required-/);
  assert.match(squash(spec.stdout), /What to upscale, where to write it, and how to run it/);
});

test('kubectl get uj shows phase, progress, fps and eta from the status', async (t) => {
  const namespace = await cluster.namespace(t);
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('columns', minimal) });
  const created = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'columns' })) as Spec;
  await cluster.custom.replaceNamespacedCustomObjectStatus({
    ...api,
    namespace,
    name: 'columns',
    body: { ...created, status: { phase: 'Running', progress: '42%', fps: '12.5', eta: '3m20s' } },
  });
  const got = await cluster.kubectl(['get', 'uj', '-n', namespace]);
  assert.equal(got.code, 0, got.stderr);
  const [header, row] = got.stdout.trim().split('\n').map((line) => line.trim().split(/\s+/));
  assert.deepEqual(header, ['NAME', 'PHASE', 'PROGRESS', 'FPS', 'ETA', 'AGE']);
  assert.deepEqual(row?.slice(0, 5), ['columns', 'Running', '42%', '12.5', '3m20s']);
  const category = await cluster.kubectl(['get', 'upscale', '-n', namespace, '-o', 'name']);
  assert.equal(category.stdout.trim(), `upscalejob.${GROUP}/columns`);
});

/** Invalid specs: [name, spec, the field the error names, what the error says (a string: the exact words)]. */
const INVALID: [string, Spec, string, string | RegExp][] = [
  ['missing input', { output: minimal.output }, 'spec.input', /Required value/],
  ['missing output', { input: minimal.input }, 'spec.output', /Required value/],
  ['an unknown codec', { ...minimal, encode: { codec: 'vp9' } }, 'spec.encode.codec', /Unsupported value: "vp9"/],
  ['crf out of range', { ...minimal, encode: { crf: 64 } }, 'spec.encode.crf', /less than or equal to 63/],
  ['zero framesPerShard', { ...minimal, sharding: { framesPerShard: 0 } }, 'spec.sharding.framesPerShard', /greater than or equal to 1/],
  ['negative parallelism', { ...minimal, sharding: { parallelism: -1 } }, 'spec.sharding.parallelism', /greater than or equal to 1/],
  ['zero shards', { ...minimal, sharding: { shards: 0 } }, 'spec.sharding.shards', /greater than or equal to 1/],
  ['an unknown scale', { ...minimal, scale: 8 }, 'spec.scale', /Unsupported value: 8/],
  ['an https output', { ...minimal, output: 'https://example.com/out.mp4' }, 'spec.output', CHECKS.output.message],
  ['an output prefix', { ...minimal, output: 's3://videos/out/' }, 'spec.output', CHECKS.output.message],
  ['an output key with a .. segment', { ...minimal, output: 's3://videos/jobs/../out.mp4' }, 'spec.output', `output: ${CHECKS.s3DotSegments.message}`],
  ['an ftp input', { ...minimal, input: 'ftp://example.com/in.mp4' }, 'spec.input', CHECKS.input.message],
  ['output equal to input', { ...minimal, output: minimal.input }, 'spec.output', MESSAGES.outputIsInput],
  ['framesPerShard with shards', { ...minimal, sharding: { framesPerShard: 100, shards: 4 } }, 'spec.sharding.shards', MESSAGES.shardingExclusive],
  ['scale with a width', { ...minimal, scale: 2, width: 1920 }, 'spec.scale', MESSAGES.scaleOrSize],
  ['scale with a height', { ...minimal, scale: 4, height: 1080 }, 'spec.scale', MESSAGES.scaleOrSize],
  ['a width of 1', { ...minimal, width: 1 }, 'spec.width', /greater than or equal to 2/],
  ['an unknown deinterlace', { ...minimal, deinterlace: 'yadif' }, 'spec.deinterlace', /Unsupported value: "yadif"/],
  ['an unknown model id', { ...minimal, model: 'realesrgan-x8' }, 'spec.model', /model must be a catalogue model id/],
  ['an output extension upscale cannot write', { ...minimal, output: 's3://videos/out.avi' }, 'spec.output', ENCODE_MESSAGES.outputExtension],
  ['h264 into WebM', { ...minimal, output: 's3://videos/out.webm', encode: { codec: 'h264' } }, 'spec.encode.codec', ENCODE_MESSAGES.codecContainer],
  ['an x264 preset for the .webm default (av1)', { ...minimal, output: 's3://videos/out.webm', encode: { preset: 'medium' } }, 'spec.encode.preset', ENCODE_MESSAGES.preset],
  ['an NVENC preset on the CPU encoder', { ...minimal, encode: { codec: 'hevc', preset: 'p5' } }, 'spec.encode.preset', ENCODE_MESSAGES.preset],
  ['crf 60 for h264', { ...minimal, encode: { crf: 60 } }, 'spec.encode.crf', ENCODE_MESSAGES.crf],
  ['a crf for ffv1', { ...minimal, output: 's3://videos/out.mkv', encode: { codec: 'ffv1', crf: 0 } }, 'spec.encode.crf', ENCODE_MESSAGES.crf],
  ['nvenc for av1', { ...minimal, output: 's3://videos/out.mkv', encode: { codec: 'av1', encoder: 'nvenc' } }, 'spec.encode.encoder', ENCODE_MESSAGES.nvencCodec],
  ['a tile word other than auto', { ...minimal, inference: { tile: 'big' } }, 'spec.inference.tile', /tile must be "auto" or an integer/],
  ['a tile over the limit', { ...minimal, inference: { tile: 20000 } }, 'spec.inference.tile', /tile must be "auto" or an integer/],
  ['a gpu resource without a domain', { ...minimal, resources: { gpuResourceName: 'gpu' } }, 'spec.resources.gpuResourceName', /domain-prefixed extended resource name/],
  ['a negative cpu', { ...minimal, resources: { cpu: '-2' } }, 'spec.resources.cpu', /cpu must be a non-negative Kubernetes quantity/],
  ['a memory with a space', { ...minimal, resources: { memory: '16 Gi' } }, 'spec.resources.memory', /memory must be a non-negative Kubernetes quantity/],
  [
    'a toleration with operator Exists and a value',
    { ...minimal, podTemplate: { spec: { tolerations: [{ key: 'k', operator: 'Exists', value: 'v' }] } } },
    'spec.podTemplate.spec.tolerations[0].value',
    MESSAGES.tolerationExistsValue,
  ],
];

test('the API server and zod reject invalid specs, naming the field', async (t) => {
  const namespace = await cluster.namespace(t);
  for (const [i, [name, spec, field, says]] of INVALID.entries()) {
    await t.test(name, async () => {
      const err = await rejection(cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job(`bad-${i}`, spec) }), name);
      assert.equal(err.code, 422, err.body);
      const message = err.message;
      assert.ok(message.includes(`${field}: `), `the error does not name ${field}: ${message}`);
      assert.ok(typeof says === 'string' ? message.includes(says) : says.test(message), `the error does not say ${String(says)}: ${message}`);
      const parsed = upscaleJobSpecSchema.safeParse(spec);
      assert.ok(!parsed.success, `zod accepts ${name}`);
      assert.deepEqual(parsed.error.issues.map((issue) => fieldPath(issue.path)), [field], 'zod names another field');
    });
  }
});

test('a job without a spec is rejected', async (t) => {
  const namespace = await cluster.namespace(t);
  const err = await rejection(cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: { apiVersion: API_VERSION, kind: KIND, metadata: { name: 'empty' } } }), 'no spec');
  assert.equal(err.code, 422, err.body);
  assert.match(err.body, /spec: Required value/);
});

test('kubectl apply --validate=strict rejects an unknown field', async (t) => {
  const namespace = await cluster.namespace(t);
  const manifest = JSON.stringify(job('typo', { ...minimal, encode: { codec: 'h264', colour: 'blue' } }));
  const applied = await cluster.kubectl(['apply', '--validate=strict', '-n', namespace, '-f', '-'], { input: manifest });
  assert.notEqual(applied.code, 0, 'the unknown field was accepted');
  assert.match(applied.stderr, /unknown field "spec\.encode\.colour"/);
  // Without strict validation the server prunes the field and warns.
  const lax = await cluster.kubectl(['apply', '--validate=warn', '-n', namespace, '-f', '-'], { input: manifest });
  assert.equal(lax.code, 0, lax.stderr);
  assert.match(lax.stderr, /unknown field "spec\.encode\.colour"/);
  const read = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'typo' })) as { spec: { encode: Spec } };
  assert.equal(read.spec.encode['colour'], undefined);
});

test('input, output, model, scale, deinterlace and encode cannot change; other fields can', async (t) => {
  const namespace = await cluster.namespace(t);
  await cluster.custom.createNamespacedCustomObject({ ...api, namespace, body: job('fixed', { ...minimal, model: 'RealESRGAN_x4plus', scale: 2 }) });
  const changes: [string, (spec: Spec) => Spec][] = [
    ['input', (s) => ({ ...s, input: 's3://videos/other.mp4' })],
    ['output', (s) => ({ ...s, output: 's3://videos/other-out.mp4' })],
    ['model', (s) => ({ ...s, model: 'realesr-general-x4v3' })],
    ['scale', (s) => ({ ...s, scale: 4 })],
    ['deinterlace', (s) => ({ ...s, deinterlace: 'off' })],
    ['encode', (s) => ({ ...s, encode: { ...(s['encode'] as Spec), crf: 20 } })],
  ];
  for (const [field, change] of changes) {
    await t.test(`changing ${field} is rejected`, async () => {
      const current = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'fixed' })) as { spec: Spec };
      const body = { ...current, spec: change(current.spec) };
      const err = await rejection(cluster.custom.replaceNamespacedCustomObject({ ...api, namespace, name: 'fixed', body }), `changing ${field}`);
      assert.equal(err.code, 422, err.body);
      assert.match(err.body, new RegExp(`spec\\.${field}: Invalid value: .*${field} is immutable`));
    });
  }
  await t.test('suspend and parallelism can change', async () => {
    const current = (await cluster.custom.getNamespacedCustomObject({ ...api, namespace, name: 'fixed' })) as { spec: Spec };
    const spec = { ...current.spec, suspend: true, sharding: { parallelism: 8 } };
    const replaced = (await cluster.custom.replaceNamespacedCustomObject({ ...api, namespace, name: 'fixed', body: { ...current, spec } })) as { spec: Spec };
    assert.equal(replaced.spec['suspend'], true);
    assert.deepEqual(replaced.spec['sharding'], { parallelism: 8 });
  });
});
