/**
 * Job identity: the pure comparison (table), and the identity of real files and of a real S3 object
 * (the S3 test server): a same-size change with the old mtime restored is still seen (the head/tail
 * hash), and a changed model file is named as such by the check the shard step runs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { clip } from '../../test/fixtures/clips.ts';
import { useS3 } from '../../test/s3/harness.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { Storage } from '../storage/storage.ts';
import { parseTask, probeTaskSchema } from '../task.ts';
import { EDGE_BYTES, checkJobIdentity, identityChange, modelIdentity, sourceIdentity, type JobIdentity } from './job-identity.ts';
import { runProbeStep } from './probe-step.ts';

const s3 = await useS3();
const log = pino({ level: 'silent' });
const HEX = (c: string) => c.repeat(64);

describe('identityChange', () => {
  const base: JobIdentity = { version: 1, source: { uri: '/v/in.mp4', size: 100, mtimeMs: 1000, edgesSha256: HEX('a') }, model: { name: 'm', sha256: HEX('1') } };
  const cases: { name: string; current: JobIdentity; want: RegExp | undefined }[] = [
    { name: 'the same source and model may be reused', current: base, want: undefined },
    { name: 'a new size is a changed source', current: { ...base, source: { ...base.source, size: 101 } }, want: /^the source \/v\/in\.mp4 changed since the job was probed \(size 100 -> 101\)$/ },
    { name: 'a new ETag is a changed source', current: { ...base, source: { ...base.source, etag: 'e2' } }, want: /ETag none -> e2/ },
    { name: 'a new mtime is a changed source', current: { ...base, source: { ...base.source, mtimeMs: 2000 } }, want: /modified 1970-01-01T00:00:01\.000Z -> 1970-01-01T00:00:02\.000Z/ },
    { name: 'other head or tail bytes are a changed source', current: { ...base, source: { ...base.source, edgesSha256: HEX('b') } }, want: /content differs/ },
    { name: 'a new model hash is a changed model', current: { ...base, model: { name: 'm', sha256: HEX('2') } }, want: /^the model changed since the job was probed \(m: sha256 111111111111 -> 222222222222\)$/ },
    { name: 'no model on either side is not compared', current: { version: 1, source: base.source }, want: undefined },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const change = identityChange(base, c.current);
      if (c.want === undefined) assert.equal(change, undefined);
      else assert.match(change?.reason ?? '', c.want);
    });
  }
});

test('a local source: same size and mtime but other bytes at the end is another source', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'identity-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storage = new Storage();
  const path = join(dir, 'in.bin');
  await writeFile(path, Buffer.alloc(3 * EDGE_BYTES, 7));
  const before = await sourceIdentity(storage, path);
  const { mtime } = await stat(path);
  const handle = await open(path, 'r+');
  await handle.write(Buffer.from([8]), 0, 1, 3 * EDGE_BYTES - 10);
  await handle.close();
  await utimes(path, mtime, mtime);
  const after = await sourceIdentity(storage, path);
  assert.equal(after.size, before.size);
  assert.equal(after.mtimeMs, before.mtimeMs);
  assert.match(identityChange({ version: 1, source: before }, { version: 1, source: after })?.reason ?? '', /content differs/);
});

test('an S3 source is its ETag and size', async (t) => {
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const uri = `s3://${bucket}/in.mp4`;
  await storage.write(uri, 'first');
  const first = await sourceIdentity(storage, uri);
  assert.equal(first.size, 5);
  assert.ok(first.etag !== undefined && first.etag !== '');
  assert.equal(first.edgesSha256, undefined, 'no content reads on S3');
  await storage.write(uri, 'other', { overwrite: true });
  assert.match(identityChange({ version: 1, source: first }, { version: 1, source: await sourceIdentity(storage, uri) })?.reason ?? '', /ETag /);
});

test('the shard check names a changed custom model, and catalogue models hash their built files', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'identity-model-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const storage = new Storage();
  const model = join(dir, 'mine.onnx');
  await copyFile(modelPath('realesr-general-x4v3', 'fp32'), model);
  const common = { version: 1 as const, jobId: 'identity-model', input: await clip('tiny-basic'), output: join(dir, 'out.mkv') };
  await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 1, model } }, 'test'), storage, log);
  const layout = jobLayout(common.output, common.jobId);
  await checkJobIdentity(storage, layout, common.input, model);

  await writeFile(model, Buffer.concat([await readFile(model), Buffer.from([0])]));
  const error = await checkJobIdentity(storage, layout, common.input, model).then(
    () => assert.fail('expected a failure'),
    (caught: unknown) => caught,
  );
  assert.ok(error instanceof UpscaleError);
  assert.equal(error.code, 'VerificationFailed');
  assert.equal(exitCodeFor(error), 2);
  assert.match(error.message, new RegExp(`^the model changed since the job was probed \\(${model.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: sha256 `));

  const catalogued = await modelIdentity(storage, 'realesr-general-x4v3');
  assert.equal(catalogued.name, 'realesr-general-x4v3');
  assert.match(catalogued.sha256, /^[0-9a-f]{64}$/);
  assert.deepEqual(await modelIdentity(storage, 'realesr-general-x4v3'), catalogued, 'stable (and cached)');
  // Every built file counts, the uint16 variants (run for deep sources) included.
  const files = [
    ['fp32', modelPath('realesr-general-x4v3', 'fp32')],
    ['fp32.uint16', modelPath('realesr-general-x4v3', 'fp32', 'uint16')],
    ['fp16', modelPath('realesr-general-x4v3', 'fp16')],
    ['fp16.uint16', modelPath('realesr-general-x4v3', 'fp16', 'uint16')],
  ] as const;
  const want = createHash('sha256');
  for (const [label, path] of files) want.update(`${label} ${createHash('sha256').update(await readFile(path)).digest('hex')}\n`);
  assert.equal(catalogued.sha256, want.digest('hex'));
});
