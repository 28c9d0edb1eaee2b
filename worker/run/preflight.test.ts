import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from '../errors.ts';
import { upscaleSettingsSchema } from '../task.ts';
import { gatherFacts } from './preflight.ts';
import { decideOutput } from '../media/output-decision.ts';

const settings = upscaleSettingsSchema.parse({ encoder: 'cpu' });

describe('preflight facts', () => {
  it('an S3 output naming the input object is the same file, refused even with overwrite', async () => {
    const facts = await gatherFacts('s3://videos/in/film.mp4', 's3://videos/in/film.mp4', settings);
    assert.equal(facts.sameFile, true);
    assert.throws(
      () => decideOutput(facts, { codec: 'h264' }),
      (e: unknown) => e instanceof UpscaleError && e.code === 'InvalidArgument' && /s3:\/\/videos\/in\/film\.mp4 is the input/.test(e.message),
    );
  });

  it('another key or bucket is not the input', async () => {
    assert.equal((await gatherFacts('s3://videos/in/film.mp4', 's3://videos/in/film.mkv', settings)).sameFile, false);
    assert.equal((await gatherFacts('s3://videos/in/film.mp4', 's3://other/in/film.mp4', settings)).sameFile, false);
  });
});
