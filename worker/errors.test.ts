import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, EXIT_PERMANENT, EXIT_TRANSIENT, UpscaleError, exitCodeFor, inStep, kindOf } from './errors.ts';

test('permanent codes exit 2, transient ones and unknown errors exit 3', () => {
  const transient = ERROR_CODES.filter((code) => kindOf(code) === 'transient');
  assert.deepEqual(transient, ['Unavailable', 'Cancelled', 'Internal']);
  for (const code of ERROR_CODES) {
    const expected = transient.includes(code) ? EXIT_TRANSIENT : EXIT_PERMANENT;
    assert.equal(exitCodeFor(new UpscaleError(code, 'x')), expected, code);
  }
  assert.equal(exitCodeFor(new UpscaleError('Internal', 'x', { kind: 'permanent' })), EXIT_PERMANENT);
  assert.equal(exitCodeFor(new Error('boom')), EXIT_TRANSIENT);
  assert.equal(exitCodeFor(Object.assign(new Error('bad video'), { permanent: true })), EXIT_PERMANENT);
});

test('inStep prefixes the step and keeps code, kind, subject and cause', () => {
  const cause = new Error('ENOENT');
  const original = new UpscaleError('NotFound', 'reading s3://b/in.mp4: object not found', { subject: 's3://b/in.mp4', cause });
  const stepped = inStep(original, 'probe');
  assert.equal(stepped.message, 'probe: reading s3://b/in.mp4: object not found');
  assert.equal(stepped.code, 'NotFound');
  assert.equal(stepped.subject, 's3://b/in.mp4');
  assert.equal(stepped.cause, cause);
  assert.equal(inStep(stepped, 'run'), stepped, 'the innermost step wins');
  const wrapped = inStep(new TypeError('x is undefined'), 'shard');
  assert.equal(wrapped.code, 'Internal');
  assert.equal(wrapped.kind, 'transient');
  assert.equal(wrapped.message, 'shard: x is undefined');
  assert.equal('cause' in new UpscaleError('NotFound', 'x'), false, 'no cause property when there is none');
});
