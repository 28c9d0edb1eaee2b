import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EXIT_TRANSIENT } from '../worker/errors.ts';
import { SIGNAL_EXIT_CODE } from './signals.ts';

describe('signals', () => {
  it('exits with the transient code of worker/errors.ts', () => {
    assert.equal(SIGNAL_EXIT_CODE, EXIT_TRANSIENT);
  });
});
