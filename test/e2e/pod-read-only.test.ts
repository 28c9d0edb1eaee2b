/**
 * The step commands as the cluster's pods run them: a read-only root file system with one writable
 * scratch directory that TMPDIR points to (an emptyDir at /scratch), S3 settings only from the
 * environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * UPSCALE_S3_FORCE_PATH_STYLE), an https:// input behind a redirect (self-signed, trusted through
 * SSL_CERT_FILE), an s3:// model and an s3:// output. Any write outside TMPDIR fails with EROFS.
 *
 * The read-only root is a private mount namespace (`unshare -m`) in which `/` is remounted
 * read-only and only the scratch directory is bind-mounted writable; machines that do not allow
 * that (no CAP_SYS_ADMIN) skip the test.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import { modelPath } from '../../models/catalogue.ts';
import { startTestHttpServer } from '../../worker/storage/test-http-server.ts';
import { Storage } from '../../worker/storage/storage.ts';
import { CLIP_FRAMES, REPO, clip } from '../fixtures/clips.ts';
import { useS3 } from '../s3/harness.ts';
import { UPSCALE_BIN, explain, finished, type CliResult } from './cli.ts';
import { decodedFrames } from './media-checks.ts';

const run = promisify(execFile);
const FRAMES = CLIP_FRAMES['tiny-bframes'];
// Remount / read-only in a private mount namespace, keeping $SCRATCH writable, then run "$@".
const READ_ONLY_ROOT = 'mount --bind "$SCRATCH" "$SCRATCH" && mount -o remount,bind,ro / && exec "$@"';

/** True when this machine lets us make / read-only in a private mount namespace. */
async function canMakeRootReadOnly(scratch: string): Promise<boolean> {
  try {
    await run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${READ_ONLY_ROOT}`, 'sh', 'sh', '-c', '! touch /.upscale-ro-check 2>/dev/null && touch "$SCRATCH/ok"'], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SCRATCH: scratch },
    });
    return true;
  } catch {
    return false;
  }
}

test('probe, shard and assemble run on a read-only root with TMPDIR as the only writable place', async (t) => {
  const scratch = await mkdtemp(join(tmpdir(), 'e2e-pod-scratch-'));
  t.after(() => rm(scratch, { recursive: true, force: true }));
  if (!(await canMakeRootReadOnly(scratch))) {
    t.skip('needs `unshare -m` and mount (CAP_SYS_ADMIN) to make / read-only');
    return;
  }
  await rm(join(scratch, 'ok'));

  const s3 = await useS3();
  const bucket = await s3.bucket(t);
  const storage = new Storage({ s3: s3.options });
  t.after(() => storage.close());
  const model = `s3://${bucket}/models/general-x4v3.onnx`;
  await storage.write(model, await readFile(modelPath('realesr-general-x4v3', 'fp32')));

  const server = await startTestHttpServer(
    { '/in.mp4': { redirect: '/media/in.mp4?sig=SECRET' }, '/media/in.mp4': { body: await readFile(await clip('tiny-bframes')), query: 'sig=SECRET' } },
    { tls: true },
  );
  t.after(() => server.close());

  const env = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    HOME: '/root', // read-only, as in a pod whose image has no writable home
    TMPDIR: scratch,
    SCRATCH: scratch,
    AWS_ENDPOINT_URL: s3.info.endpoint,
    AWS_REGION: s3.info.region,
    AWS_ACCESS_KEY_ID: s3.info.accessKeyId,
    AWS_SECRET_ACCESS_KEY: s3.info.secretAccessKey,
    UPSCALE_S3_FORCE_PATH_STYLE: 'true',
    SSL_CERT_FILE: server.certificate?.file ?? '',
  };
  const common = { version: 1, jobId: 'pod-ro', input: `${server.base}/in.mp4?sig=SECRET`, output: `s3://${bucket}/out/final.mkv` };

  let n = 0;
  async function pod(step: string, task: Record<string, unknown>, extraEnv: Record<string, string> = {}): Promise<{ cli: CliResult; result: Record<string, unknown> }> {
    n++;
    const taskFile = join(scratch, `task-${n}.json`);
    const resultFile = join(scratch, `result-${n}.json`);
    await writeFile(taskFile, JSON.stringify(task));
    const child = spawn(
      'unshare',
      ['-m', '--propagation', 'private', 'sh', '-c', READ_ONLY_ROOT, 'sh', process.execPath, UPSCALE_BIN, step, '--task-file', taskFile, '--result-file', resultFile],
      { cwd: REPO, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    const cli = await finished(child);
    assert.equal(cli.code, 0, explain(cli));
    assert.doesNotMatch(cli.stderr + cli.stdout, /EROFS|read-only file system/i);
    assert.doesNotMatch(cli.stderr + cli.stdout, /SECRET/);
    return { cli, result: JSON.parse(await readFile(resultFile, 'utf8')) as Record<string, unknown> };
  }

  const probe = await pod('probe', { ...common, step: 'probe', plan: { shardCount: 2 } });
  assert.deepEqual([probe.result['shards'], probe.result['frames'], probe.result['shardFrames']], [2, FRAMES, [[6, 2]]]);

  const shardTask = { ...common, step: 'shard', settings: { model, ep: 'cpu', codec: 'ffv1', encoder: 'cpu' } };
  for (const index of [0, 1]) {
    const shard = await pod('shard', shardTask, { JOB_COMPLETION_INDEX: String(index) });
    assert.deepEqual([shard.result['shard'], shard.result['frames'], shard.result['skipped']], [index, 6, false]);
  }
  const assembled = await pod('assemble', { ...common, step: 'assemble' });
  assert.equal(assembled.result['frames'], FRAMES);

  const local = join(scratch, 'final.mkv');
  await writeFile(local, await storage.read(common.output));
  assert.equal(await decodedFrames(local), FRAMES);
  // The steps cleaned up after themselves: only the task and result files are left in scratch.
  const left = (await readdir(scratch)).filter((name) => !/^(task|result)-\d+\.json$/.test(name) && name !== 'final.mkv');
  assert.deepEqual(left, []);
});
