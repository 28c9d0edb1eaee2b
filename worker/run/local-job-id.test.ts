import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upscaleSettingsSchema } from '../task.ts';
import { localJobId } from './local-run.ts';

const settings = upscaleSettingsSchema.parse({});

test('another segment is another local job; the whole video keeps the id it had before segments', () => {
  const whole = localJobId('in.mp4', 'out.mp4', settings);
  assert.equal(localJobId('in.mp4', 'out.mp4', settings, false, undefined), whole);
  const a = localJobId('in.mp4', 'out.mp4', settings, false, { start: 2, duration: 1 });
  const b = localJobId('in.mp4', 'out.mp4', settings, false, { start: 2, duration: 1.5 });
  assert.notEqual(a, whole);
  assert.notEqual(a, b);
  assert.equal(localJobId('in.mp4', 'out.mp4', settings, false, { start: 2, duration: 1 }), a, 'deterministic');
});
