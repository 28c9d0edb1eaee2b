/**
 * An `https://` input through the real steps: the probe, shard and assemble steps read a clip from a
 * local node:https server (self-signed, trusted through SSL_CERT_FILE by both the worker and ffmpeg)
 * behind two redirects, with ranged reads, and its query string never reaches a log, a result or
 * `probe.json`. Failures are classified whether the worker's own check or ffmpeg meets them.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { CLIP_FRAMES, clip } from '../../test/fixtures/clips.ts';
import { UpscaleError, exitCodeFor } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import { Storage } from '../storage/storage.ts';
import { closedPort, startTestHttpServer, type TestHttpServer } from '../storage/test-http-server.ts';
import { assembleTaskSchema, parseTask, probeTaskSchema, shardTaskSchema } from '../task.ts';
import { runAssembleStep } from './assemble-step.ts';
import { runProbeStep } from './probe-step.ts';
import { runShardStep } from './shard-step.ts';

const SECRET = 'token=SECRET123';
const FRAMES = CLIP_FRAMES['tiny-bframes'];

describe('https:// inputs in the steps', () => {
  let server: TestHttpServer;
  let dir: string;
  let storage: Storage;
  const logs: string[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void logs.push(line) });
  const savedCertFile = process.env['SSL_CERT_FILE'];

  before(async () => {
    const body = await readFile(await clip('tiny-bframes'));
    server = await startTestHttpServer(
      {
        '/in/clip.mp4': { redirect: '/hop/clip.mp4', status: 302 },
        '/hop/clip.mp4': { redirect: `/media/clip.mp4?${SECRET}`, status: 307 },
        '/media/clip.mp4': { body, query: SECRET },
        '/ffmpeg-forbidden.mp4': { body, onlyFor: /^upscale-operator$/, otherwise: 403 },
        '/ffmpeg-unavailable.mp4': { body, onlyFor: /^upscale-operator$/, otherwise: 503 },
        '/forbidden.mp4': { status: 403 },
        '/busy.mp4': { status: 503 },
      },
      { tls: true },
    );
    // One variable for both readers: the worker's https client and ffmpeg's -ca_file.
    process.env['SSL_CERT_FILE'] = server.certificate?.file ?? '';
    storage = new Storage();
    dir = await mkdtemp(join(tmpdir(), 'https-input-'));
  });
  after(async () => {
    if (savedCertFile === undefined) delete process.env['SSL_CERT_FILE'];
    else process.env['SSL_CERT_FILE'] = savedCertFile;
    storage.close();
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('probes, upscales two shards and assembles from a redirected https URL with ranged reads', async () => {
    const input = `${server.base}/in/clip.mp4?${SECRET}`;
    const common = { version: 1, jobId: 'https-in', input, output: join(dir, 'out.mkv') };
    const probe = await runProbeStep(parseTask(probeTaskSchema, { ...common, step: 'probe', plan: { shardCount: 2 } }, 'test'), storage, log);
    assert.equal(probe.result.shards, 2);
    assert.equal(probe.result.frames, FRAMES);
    assert.deepEqual(probe.result.shardFrames, [[6, 2]]);
    assert.equal(probe.result.summary['input'], `${server.base}/in/clip.mp4?<redacted>`);

    // A URL with a query string never reaches ffmpeg: the worker serves it on loopback, reading it
    // (redirects followed and vetted by the worker) with ranged requests.
    assert.deepEqual(server.requests.filter((r) => /^Lavf/.test(r.userAgent ?? '')), [], 'ffmpeg never called the server');
    const workerRequests = server.requests.filter((r) => /^upscale-operator/.test(r.userAgent ?? ''));
    assert.ok(workerRequests.some((r) => r.url === '/hop/clip.mp4'), 'the worker followed the redirects');
    assert.ok(workerRequests.filter((r) => r.url === `/media/clip.mp4?${SECRET}` && r.range !== undefined).length > 1, 'with ranged reads');

    const shardTask = parseTask(shardTaskSchema, { ...common, step: 'shard', settings: { ep: 'cpu', codec: 'ffv1', encoder: 'cpu' } }, 'test');
    for (const shard of [1, 0]) {
      const result = await runShardStep({ ...shardTask, shard }, storage, log);
      assert.deepEqual([result.start, result.end, result.frames], [shard * 6, shard * 6 + 6, 6]);
    }
    const assembled = await runAssembleStep(parseTask(assembleTaskSchema, { ...common, step: 'assemble', keepIntermediates: true }, 'test'), storage, log);
    assert.equal(assembled.frames, FRAMES);

    const probeJson = await readFile(jobLayout(common.output, common.jobId).probe, 'utf8');
    for (const [what, text] of [['probe.json', probeJson], ['logs', logs.join('')], ['results', JSON.stringify([probe.result, assembled])]] as const) {
      assert.doesNotMatch(text, /SECRET123/, what);
    }
  });

  // `direct`: a URL without query string, which ffmpeg opens itself (so only ffmpeg meets the failure).
  const failures: { name: string; path: () => Promise<string>; code: string; exit: number; message: RegExp; direct?: boolean }[] = [
    { name: 'a missing object (the worker sees 404)', path: async () => '/missing.mp4', code: 'NotFound', exit: 2, message: /opening https:\/\/localhost:\d+\/missing\.mp4\?<redacted>: no such object \(HTTP 404\)/ },
    { name: 'a refusal (the worker sees 403)', path: async () => '/forbidden.mp4', code: 'AccessDenied', exit: 2, message: /refused access \(HTTP 403\)/ },
    { name: 'an overloaded server (the worker sees 503)', path: async () => '/busy.mp4', code: 'Unavailable', exit: 3, message: /HTTP 503/ },
    { name: 'a refusal only ffmpeg meets (403)', path: async () => '/ffmpeg-forbidden.mp4', code: 'AccessDenied', exit: 2, message: /^probe https:\/\/localhost:\d+\/ffmpeg-forbidden\.mp4: access denied \(Server returned 403/, direct: true },
    { name: 'a server error only ffmpeg meets (5xx)', path: async () => '/ffmpeg-unavailable.mp4', code: 'Unavailable', exit: 3, message: /network error while reading the input/, direct: true },
    { name: 'a refused connection', path: async () => `https://localhost:${await closedPort()}/in.mp4`, code: 'Unavailable', exit: 3, message: /server unreachable \(ECONNREFUSED/ },
  ];
  for (const failure of failures) {
    it(`fails the probe step on ${failure.name} with ${failure.code}, exit ${failure.exit}`, async () => {
      const path = await failure.path();
      const input = `${path.startsWith('https:') ? path : `${server.base}${path}`}${failure.direct ? '' : `?${SECRET}`}`;
      const task = parseTask(probeTaskSchema, { version: 1, jobId: 'https-fail', step: 'probe', input, output: join(dir, `fail-${failure.code}.mkv`) }, 'test');
      const error = await runProbeStep(task, storage, log).then(
        () => assert.fail('expected the probe step to fail'),
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof UpscaleError);
      assert.equal(error.code, failure.code);
      assert.equal(exitCodeFor(error), failure.exit);
      assert.match(error.message, failure.message);
      assert.doesNotMatch(`${error.message} ${String(error.subject)}`, /SECRET123/);
    });
  }

  it('refuses an https output in the task, before any work', () => {
    assert.throws(
      () => parseTask(probeTaskSchema, { version: 1, jobId: 'j', step: 'probe', input: '/in.mp4', output: `${server.base}/out.mp4` }, 'task.json'),
      (error: unknown) => error instanceof UpscaleError && error.code === 'InvalidArgument' && /output: http\(s\) locations are read-only/.test(error.message),
    );
  });
});
