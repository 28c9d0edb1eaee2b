import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { COMMAND_ANNOTATION, commandOverride } from './command-override.ts';

const pod = (value?: string): V1Pod => ({ metadata: { name: 'p', namespace: 'ns', ...(value === undefined ? {} : { annotations: { [COMMAND_ANNOTATION]: value } }) } });

describe('commandOverride', () => {
  it('is undefined without the annotation', () => {
    assert.equal(commandOverride(pod()), undefined);
  });
  it('reads a JSON array of strings', () => {
    assert.deepEqual(commandOverride(pod('["/bin/sh","/app/test/bench/trivial-worker.sh"]')), ['/bin/sh', '/app/test/bench/trivial-worker.sh']);
  });
  for (const bad of ['sh -c true', '[]', '["sh", 1]', '{"a":1}', '[""]']) {
    it(`refuses ${bad} naming the annotation and the pod`, () => {
      assert.throws(() => commandOverride(pod(bad)), (err: Error) => err.message.includes(COMMAND_ANNOTATION) && err.message.includes('ns/p'));
    });
  }
});
