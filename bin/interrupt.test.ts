import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UpscaleError } from '../worker/errors.ts';
import { failureToReport, interruptedFailure } from './interrupt.ts';

describe('interruptedFailure', () => {
  const aborted = (): AbortSignal => {
    const c = new AbortController();
    c.abort('SIGINT');
    return c.signal;
  };

  it('leaves a failure alone when nothing was interrupted', () => {
    const error = new Error('boom');
    assert.equal(interruptedFailure(error, new AbortController().signal), error);
  });

  it('reports what an abort made fail as the interruption, naming the signal, with the failure as cause', () => {
    const abort = new DOMException('This operation was aborted', 'AbortError');
    const got = interruptedFailure(abort, aborted());
    assert.ok(got instanceof UpscaleError);
    assert.equal(got.code, 'Cancelled');
    assert.equal(got.permanent, false);
    assert.match(got.message, /^interrupted by SIGINT; finished shards are kept/);
    assert.equal(got.cause, abort);
    const internal = new UpscaleError('Internal', 'ffmpeg was killed');
    assert.equal((interruptedFailure(internal, aborted()) as UpscaleError).code, 'Cancelled');
  });

  it('reports even a permanent-looking failure as the interruption (a child killed by the same signal), and keeps one already reported', () => {
    const killedChild = new UpscaleError('Unsupported', 'ffprobe failed to run (ffprobe -show_pixel_formats -of json was killed by SIGTERM)');
    const got = interruptedFailure(killedChild, aborted()) as UpscaleError;
    assert.equal(got.code, 'Cancelled');
    assert.equal(got.permanent, false);
    assert.equal(got.cause, killedChild);
    const cancelled = new UpscaleError('Cancelled', 'shard 0 interrupted');
    assert.equal(interruptedFailure(cancelled, aborted()), cancelled);
  });

  it('waits a moment for a signal on its way: a child killed by the group\'s signal fails the command before the handler runs', async () => {
    const c = new AbortController();
    const killed = new UpscaleError('Unsupported', 'ffprobe failed to run (killed by SIGTERM)');
    setTimeout(() => c.abort('SIGTERM'), 5);
    const got = (await failureToReport(killed, c.signal)) as UpscaleError;
    assert.equal(got.code, 'Cancelled');
    assert.match(got.message, /by SIGTERM/);
    // With no signal, the failure is the failure.
    assert.equal(await failureToReport(killed, new AbortController().signal), killed);
  });
});
