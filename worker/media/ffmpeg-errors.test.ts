import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyFailure } from './ffmpeg-errors.ts';
import { displayName } from './input-policy.ts';
import { redactUrlsIn } from '../redact.ts';

describe('classifyFailure', () => {
  const cases: { stderr: string; code: string; permanent: boolean }[] = [
    { stderr: "[hls @ 0x55] Format not on whitelist 'mov,mp4'", code: 'UnsafeInput', permanent: true },
    { stderr: "[png_pipe @ 0x55] Format not on whitelist 'mov,mp4'", code: 'UnsupportedInput', permanent: true },
    { stderr: 'file:/tmp/clips: Is a directory', code: 'UnsupportedInput', permanent: true },
    // ffmpeg 7.1 on an m3u8 playlist named .mp4: the playlist, not the mov demuxer's complaint, decides.
    { stderr: 'Not detecting m3u8/hls with non standard extension and non standard mime type\n[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5] moov atom not found\nin.mp4: Invalid data found when processing input', code: 'UnsafeInput', permanent: true },
    { stderr: "[concat @ 0x1] Protocol 'http' not on whitelist 'file'!", code: 'UnsafeInput', permanent: true },
    { stderr: 'in.mp4: No such file or directory', code: 'InputNotFound', permanent: true },
    { stderr: '[mov,mp4 @ 0x1] moov atom not found', code: 'TruncatedInput', permanent: true },
    { stderr: '[matroska,webm @ 0x1] File ended prematurely', code: 'TruncatedInput', permanent: true },
    { stderr: 'x.txt: Invalid data found when processing input', code: 'NotAVideo', permanent: true },
    { stderr: 'https://h/k?X-Amz-Signature=s: Server returned 403 Forbidden (access denied)', code: 'InputForbidden', permanent: true },
    { stderr: 'Connection to tcp://h:443 failed: Connection refused', code: 'InputUnreachable', permanent: false },
    { stderr: 'Server returned 503 Service Unavailable', code: 'InputUnreachable', permanent: false },
    { stderr: 'https://h/in.mp4: Server returned 5XX Server Error reply', code: 'InputUnreachable', permanent: false },
    { stderr: 'https://h/in.mp4: Server returned 401 Unauthorized (authorization failed)', code: 'InputForbidden', permanent: true },
    { stderr: 'https://h/in.mp4: Server returned 404 Not Found', code: 'InputNotFound', permanent: true },
    { stderr: '[tls @ 0x1] Peer certificate failed verification\nhttps://h/in.mp4: Input/output error', code: 'InputForbidden', permanent: true },
    { stderr: "[libx264 @ 0x1] Error setting preset/tune nonsense/(null).", code: 'InvalidOptions', permanent: true },
    // ffmpeg 7.x: an encoder option out of range fails while applying options, before opening.
    { stderr: '[vost#0:0/libsvtav1 @ 0x1] Error applying encoder options: Numerical result out of range', code: 'InvalidOptions', permanent: true },
    { stderr: '[h264_nvenc @ 0x1] OpenEncodeSessionEx failed: out of memory (10)', code: 'FfmpegFailed', permanent: false },
    { stderr: 'Conversion failed!', code: 'FfmpegFailed', permanent: false },
    { stderr: 'av_interleaved_write_frame(): No space left on device\nError writing trailer of file:/s/x.nut: No space left on device', code: 'NoSpace', permanent: false },
    { stderr: '[nut @ 0x1] Error closing file /q/x.mkv: Disk quota exceeded', code: 'NoSpace', permanent: false },
  ];
  it("quotes the encoder's own reason for refusing its settings (ffmpeg 5.1 and 7.1 lines)", () => {
    const v51 = [
      '  Stream #0:1 -> #0:0 (ac3 (native) -> opus (libopus))',
      '[libopus @ 0x56280d3f4600] Invalid channel layout 5.1(side) for specified mapping family -1.',
      'Error initializing output stream 0:0 -- Error while opening encoder for output stream #0:0 - maybe incorrect parameters such as bit_rate, rate, width or height',
      'Conversion failed!',
    ];
    assert.equal(classifyFailure('assemble', 'in.mkv', v51, 'muxing').message, 'assemble in.mkv: the encoder rejected its settings (Error while opening encoder): libopus: Invalid channel layout 5.1(side) for specified mapping family -1.');
    const v71 = [
      '[libopus @ 0x5f] Invalid channel layout 5.1(side) for specified mapping family -1.',
      '[aost#0:1/libopus @ 0x60] Error while opening encoder - maybe incorrect parameters such as bit_rate, rate, width or height',
      '[af#0:1 @ 0x61] Error sending frames to consumers: Invalid argument',
    ];
    assert.match(classifyFailure('assemble', 'in.mkv', v71, 'muxing').message, /\(Error while opening encoder\): libopus: Invalid channel layout 5\.1\(side\)/);
    assert.equal(classifyFailure('assemble', 'in.mkv', ['Error while opening encoder for output stream #0:0'], 'muxing').message, 'assemble in.mkv: the encoder rejected its settings (Error while opening encoder)');
  });
  it('says a still image is not a video, and what is read instead', () => {
    const e = classifyFailure('probe', 'in.png', ["[png_pipe @ 0x55] Format not on whitelist 'mov,mp4'"], 'ffprobe');
    assert.match(e.message, /still image \(png\)/);
    assert.match(e.message, /one video file \(MP4, MOV, MKV/);
    assert.match(e.message, /for a PNG, JPEG or WebP image run `upscale run` on a local copy/);
    assert.doesNotMatch(e.message, /follow references/);
  });
  for (const c of cases) {
    it(`classifies "${c.stderr.slice(0, 50)}" as ${c.code}`, () => {
      const e = classifyFailure('probe', 'in.mp4', c.stderr.split('\n'), 'ffprobe');
      assert.equal(e.reason, c.code);
      assert.equal(e.permanent, c.permanent);
      assert.ok(e.message.startsWith('probe in.mp4: '));
    });
  }

  it('names the path a full disk stopped ffmpeg writing, and ENOSPC', () => {
    const e = classifyFailure('assemble', 'in.mp4', ['av_interleaved_write_frame(): No space left on device', 'Error writing trailer of file:/out/.o.mkv.ab12.partial: No space left on device', 'Conversion failed!'], 'muxing');
    assert.equal(e.code, 'Unavailable');
    assert.equal(e.message, 'assemble in.mp4: no space left on device (ENOSPC) writing /out/.o.mkv.ab12.partial: free space there (or give it a larger disk) and retry');
  });

  it('quotes unclassified ffmpeg output without URL signatures', () => {
    const e = classifyFailure('encode', 'out.nut', ['Opening https://h/b/k?X-Amz-Signature=topsecret&a=b', 'Some odd failure'], 'encoding');
    assert.match(e.message, /encoding failed: Opening https:\/\/h\/b\/k\?<redacted> \| Some odd failure/);
    assert.doesNotMatch(e.message, /topsecret/);
  });
});

describe('redaction', () => {
  it('names URLs without query or user info', () => {
    assert.equal(displayName('https://user:pw@s3.example/b/k.mp4?X-Amz-Signature=x'), 'https://s3.example/b/k.mp4?<redacted>');
    assert.equal(displayName('https://h/k.mp4?sig', 's3://b/k.mp4'), 's3://b/k.mp4');
    assert.equal(displayName('/local/in.mp4'), '/local/in.mp4');
    assert.equal(redactUrlsIn('see http://a:b@h/x and https://h/y?s=1'), 'see http://<redacted>@h/x and https://h/y?<redacted>');
    assert.equal(redactUrlsIn('Opening https://TOKEN@h/x.mp4 failed'), 'Opening https://<redacted>@h/x.mp4 failed');
  });
});
