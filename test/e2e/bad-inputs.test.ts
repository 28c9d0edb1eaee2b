/**
 * Bad inputs through the real command line: each must fail with the documented exit code (2:
 * permanent, retrying cannot help; 3 only for an unreachable server), a stderr line that names the
 * input and the cause, and no output (no final file or object, no job prefix left behind).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand, paginateListObjectsV2 } from '@aws-sdk/client-s3';
import { badInput, clip } from '../fixtures/clips.ts';
import { useS3, type TestS3 } from '../s3/harness.ts';
import { explain, upscale, type CliResult } from './cli.ts';

const EXIT_PERMANENT = 2;

/** A one-frame PNG-in-MOV whose PNG header declares 16000x16000 (the pixels stay 64x48). */
async function hugePng(dir: string): Promise<string> {
  const path = join(dir, 'huge.mov');
  await promisify(execFile)('ffmpeg', ['-v', 'error', '-nostdin', '-y', '-f', 'lavfi', '-i', 'testsrc=s=64x48', '-frames:v', '1', '-c:v', 'png', path]);
  const file = await readFile(path);
  const at = file.indexOf('IHDR', 0, 'latin1');
  file.writeUInt32BE(16000, at + 4);
  file.writeUInt32BE(16000, at + 8);
  file.writeUInt32BE(crc32(file.subarray(at, at + 17)), at + 17);
  await writeFile(path, file);
  return path;
}

function assertRefused(run: CliResult, mentions: readonly (string | RegExp)[]): void {
  assert.equal(run.code, EXIT_PERMANENT, explain(run));
  assert.match(run.message, /^upscale run: /m, 'a one-line error for people on stderr');
  for (const m of mentions) {
    if (typeof m === 'string') assert.ok(run.message.includes(m), `stderr names ${m}:\n${run.message}`);
    else assert.match(run.message, m);
  }
  assert.equal(run.result, undefined, 'no result on stdout');
}

describe('upscale run refuses bad inputs', () => {
  let dir: string;
  let s3: TestS3;
  let s3Env: Record<string, string>;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'e2e-bad-'));
    s3 = await useS3();
    s3Env = { AWS_ENDPOINT_URL: s3.info.endpoint, AWS_REGION: s3.info.region, AWS_ACCESS_KEY_ID: s3.info.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.info.secretAccessKey };
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const run = (input: string, output: string, extra: string[] = [], env?: Record<string, string>): Promise<CliResult> =>
    upscale(['run', '-i', input, '-o', output, '--ep', 'cpu', '--no-progress', ...extra], env === undefined ? {} : { env });
  const assertNoLocalOutput = (output: string): void => {
    assert.equal(existsSync(output), false, 'no output file');
    assert.equal(existsSync(`${output}.upscale`), false, 'no job prefix left behind');
  };

  const local: { name: string; input: () => Promise<string>; cause: RegExp; extra?: string[] }[] = [
    { name: 'a truncated file', input: () => badInput('truncated'), cause: /truncated/i },
    { name: 'a text file', input: () => badInput('text'), cause: /not a video/i },
    { name: 'a missing file', input: async () => join(dir, 'no-such-video.mp4'), cause: /no such file|does not exist|not found/i },
    { name: 'a zero-length file', input: async () => { const p = join(dir, 'empty.mp4'); await writeFile(p, ''); return p; }, cause: /empty \(0 bytes\)/ },
    { name: 'a file declaring 16000x16000 frames', input: () => hugePng(dir), cause: /16000x16000 .*above the limit of 64 MP/ },
    { name: 'a clip above --max-pixels', input: () => clip('tiny-basic'), cause: /64x48 .*above the limit .*\(3071 pixels\); raise it with --max-pixels/, extra: ['--max-pixels', '3071'] },
    { name: 'an HLS playlist pointing at /etc/passwd', input: () => badInput('hls'), cause: /hls|playlist|refus/i },
    { name: 'a concat list pointing at /etc/passwd', input: () => badInput('concat'), cause: /concat|refus/i },
  ];
  for (const c of local) {
    it(c.name, async () => {
      const input = await c.input();
      const output = join(dir, `${c.name.replace(/\W+/g, '-')}.mp4`);
      const result = await run(input, output, c.extra ?? []);
      assertRefused(result, [input, c.cause]);
      assert.doesNotMatch(result.stderr, /root:x?:0:0/, 'nothing of /etc/passwd is read or echoed');
      assertNoLocalOutput(output);
    });
  }

  it('an unknown model', async () => {
    const output = join(dir, 'unknown-model.mp4');
    const result = await run(await clip('tiny-basic'), output, ['--model', 'realesr-general-x5']);
    assertRefused(result, ['realesr-general-x5', /unknown model/i]);
    assertNoLocalOutput(output);
  });

  it('an existing output is not overwritten without --overwrite', async () => {
    const output = join(dir, 'existing.mp4');
    await writeFile(output, 'an earlier result\n');
    const result = await run(await clip('tiny-basic'), output);
    assertRefused(result, [output, /already exists/i]);
    assert.equal(await readFile(output, 'utf8'), 'an earlier result\n');
    assert.equal(existsSync(`${output}.upscale`), false, 'no job prefix left behind');
  });

  it('a missing S3 object', async (t) => {
    const bucket = await s3.bucket(t);
    const input = `s3://${bucket}/nowhere/missing.mp4`;
    const result = await run(input, `s3://${bucket}/out/missing.mp4`, [], s3Env);
    assertRefused(result, [input, /not found|does not exist|no such/i]);
    const keys: string[] = [];
    for await (const page of paginateListObjectsV2({ client: s3.client }, { Bucket: bucket })) for (const o of page.Contents ?? []) keys.push(o.Key ?? '');
    assert.deepEqual(keys, [], 'no output object and no intermediates');
  });

  it('wrong S3 credentials', async (t) => {
    const bucket = await s3.bucket(t);
    await s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: 'in/source.mp4', Body: await readFile(await clip('tiny-basic')) }));
    const input = `s3://${bucket}/in/source.mp4`;
    const output = join(dir, 'wrong-credentials.mp4');
    const wrong = 'wrong-secret-7f3a9c';
    const result = await run(input, output, [], { ...s3Env, AWS_SECRET_ACCESS_KEY: wrong });
    assertRefused(result, [input, /credential|access denied|forbidden|signature/i]);
    assert.ok(!result.stderr.includes(wrong) && !result.stderr.includes(s3.info.secretAccessKey), 'no secret in the output');
    assertNoLocalOutput(output);
  });

  it('an unreachable S3 endpoint is transient (exit 3)', async () => {
    const input = 's3://any-bucket/in/source.mp4';
    const output = join(dir, 'unreachable.mp4');
    const result = await run(input, output, [], { ...s3Env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    assert.equal(result.code, 3, explain(result));
    assert.ok(result.message.includes(input), `stderr names ${input}:\n${result.message}`);
    assert.match(result.message, /unavailable|unreachable|ECONNREFUSED/i);
    assertNoLocalOutput(output);
  });
});
