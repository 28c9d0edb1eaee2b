import { test } from 'node:test';
import assert from 'node:assert/strict';
import { redactUrl, redactUrlsIn } from './redact.ts';

const TOKEN = 'A'.repeat(16) + 'b_-9'.repeat(4);

test('redactUrl drops user info, query and fragment, and the media proxy token', () => {
  assert.equal(redactUrl('https://u:p@ss@h/k.mp4?X-Amz-Signature=ff#t=1'), 'https://h/k.mp4?<redacted>');
  assert.equal(redactUrl(`http://127.0.0.1:4100/${TOKEN}/clip.mp4`), 'http://127.0.0.1:4100/<redacted>/clip.mp4');
  assert.equal(redactUrl('s3://bucket/key.mp4'), 's3://bucket/key.mp4');
});

test('redactUrlsIn cleans every URL in free text, any scheme\'s user info, and the proxy token', () => {
  const text = [
    'Opening "https://h/b/k?X-Amz-Signature=ff" failed;',
    'rtmp://user:secret@live/x and https://TOKEN@h/a.mp4',
    `http://127.0.0.1:39123/${TOKEN}/src: 403 Forbidden`,
  ].join(' ');
  const out = redactUrlsIn(text);
  for (const secret of ['X-Amz-Signature', 'secret', 'TOKEN@', TOKEN]) assert.ok(!out.includes(secret), `${secret} in ${out}`);
  assert.match(out, /https:\/\/h\/b\/k\?<redacted>/);
  assert.match(out, /rtmp:\/\/<redacted>@live\/x/);
  assert.match(out, /127\.0\.0\.1:39123\/<redacted>\/src: 403/);
});
