/**
 * A source given as an http(s) URL (how a shard reads a presigned object URL) is probed and
 * extracted with ranged reads, exactly as the local file; its signature never appears in names.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { clip } from '../../test/fixtures/clips.ts';
import { startTestHttpServer } from '../storage/test-http-server.ts';
import { MediaError } from './errors.ts';
import { extractFrames, type Frame } from './extract.ts';
import { probe } from './probe.ts';

let server: Server;
let base: string;
let ranged = 0;
before(async () => {
  const body = await readFile(await clip('bframes'));
  server = createServer((req, res) => {
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
    if (!m) {
      res.writeHead(200, { 'content-length': body.length, 'accept-ranges': 'bytes' });
      res.end(body);
      return;
    }
    ranged++;
    const start = Number(m[1]);
    const end = m[2] ? Number(m[2]) : body.length - 1;
    res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${body.length}`, 'content-length': end - start + 1, 'accept-ranges': 'bytes' });
    res.end(body.subarray(start, end + 1));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => server.close());

async function collect(it: AsyncIterable<Frame>): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of it) out.push(f);
  return out;
}

describe('URL and unusual local inputs', () => {
  it('probes and extracts over HTTP with ranged reads, like the local file', async () => {
    const url = `${base}/bucket/clip.mp4?X-Amz-Signature=secret`;
    const remote = await probe(url, { name: 's3://bucket/clip.mp4' });
    const local = await probe(await clip('bframes'));
    assert.equal(remote.input, 's3://bucket/clip.mp4');
    assert.deepEqual(remote.frames, local.frames);
    assert.equal(remote.video.frameCount, 48);
    const a = await collect(extractFrames({ input: url, probe: remote, start: 17, end: 31 }));
    const b = await collect(extractFrames({ input: await clip('bframes'), probe: local, start: 17, end: 31 }));
    assert.equal(a.length, 14);
    a.forEach((f, i) => assert.ok(f.data.equals(b[i]?.data ?? Buffer.alloc(0)), `frame ${f.index}`));
    assert.ok(ranged > 0, 'ffmpeg used range requests');
  });

  it('verifies https certificates: refuses an untrusted one, accepts it from SSL_CERT_FILE', async (t) => {
    const tls = await startTestHttpServer({ '/clip.mp4': { body: await readFile(await clip('basic')) } }, { tls: true });
    const saved = process.env['SSL_CERT_FILE'];
    t.after(async () => {
      if (saved === undefined) delete process.env['SSL_CERT_FILE'];
      else process.env['SSL_CERT_FILE'] = saved;
      await tls.close();
    });
    delete process.env['SSL_CERT_FILE'];
    const refused = await probe(`${tls.base}/clip.mp4?sig=SECRET`).then(
      () => assert.fail('expected an untrusted certificate to be refused'),
      (error: unknown) => error,
    );
    assert.ok(refused instanceof MediaError);
    assert.equal(refused.reason, 'InputForbidden');
    assert.equal(refused.permanent, true);
    assert.match(refused.message, /TLS certificate failed verification/);
    assert.doesNotMatch(refused.message, /SECRET/);
    process.env['SSL_CERT_FILE'] = tls.certificate?.file ?? '';
    assert.equal((await probe(`${tls.base}/clip.mp4?sig=SECRET`)).video.frameCount, 48);
  });

  it('reads a local path that looks like a protocol (a colon in the name)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'media-odd-'));
    const cwd = process.cwd();
    try {
      const odd = join(dir, 'take:1.mp4');
      await copyFile(await clip('basic'), odd);
      process.chdir(dir);
      const p = await probe('take:1.mp4');
      assert.equal(p.input, 'take:1.mp4');
      assert.equal((await collect(extractFrames({ input: 'take:1.mp4', probe: p, start: 0, end: 2 }))).length, 2);
    } finally {
      process.chdir(cwd);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
