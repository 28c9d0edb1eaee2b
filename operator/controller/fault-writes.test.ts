import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeWrites } from './kube-writes.ts';
import { dieAfterWrites, parseDieAfterWrites } from './fault-writes.ts';

function recordingWrites(log: string[]): KubeWrites {
  return {
    createJob: async (job) => (log.push(`createJob ${job.metadata?.name}`), true),
    deleteJob: async (_ns, name) => void log.push(`deleteJob ${name}`),
    patchJob: async (_ns, name) => void log.push(`patchJob ${name}`),
    writeStatus: async (_ns, name) => {
      log.push(`writeStatus ${name}`);
      throw Object.assign(new Error('conflict'), { code: 409 });
    },
    setFinalizers: async (_ns, name) => (log.push(`setFinalizers ${name}`), '7'),
    setWorkloadActive: async () => (log.push('setWorkloadActive'), false),
    deleteUpscaleJob: async (_ns, name) => void log.push(`deleteUpscaleJob ${name}`),
  };
}

test('dies right after the n-th write returned, counting writes of every kind, failed ones too', async () => {
  const log: string[] = [];
  const deaths: string[] = [];
  const writes = dieAfterWrites(recordingWrites(log), 3, (count, method) => deaths.push(`${count} ${method} after ${log.length} writes`));
  assert.equal(await writes.setFinalizers('ns', 'a', '1', ['f']), '7');
  assert.equal(await writes.createJob({ metadata: { name: 'a-probe' } }), true);
  assert.deepEqual(deaths, []);
  await assert.rejects(writes.writeStatus('ns', 'a', '2', {}), /conflict/);
  assert.deepEqual(deaths, ['3 writeStatus after 3 writes']);
  await writes.deleteJob('ns', 'a-probe');
  assert.deepEqual(deaths, ['3 writeStatus after 3 writes'], 'dies once');
  assert.deepEqual(log, ['setFinalizers a', 'createJob a-probe', 'writeStatus a', 'deleteJob a-probe']);
});

test('the die-after count is a whole number >= 1, or unset', () => {
  assert.equal(parseDieAfterWrites(undefined), undefined);
  assert.equal(parseDieAfterWrites(''), undefined);
  assert.equal(parseDieAfterWrites('12'), 12);
  for (const bad of ['0', '-1', '2.5', 'three', ' 4']) assert.throws(() => parseDieAfterWrites(bad), /UPSCALE_FAULT_DIE_AFTER_WRITES must be a whole number of API writes >= 1, got/);
});
