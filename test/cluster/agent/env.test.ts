import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import { containerEnv, expandVars, type ObjectLookup } from './env.ts';
import { ClusterError } from '../cluster-error.ts';

const lookup: ObjectLookup = {
  async secret(_ns, name): Promise<V1Secret | undefined> {
    return name === 's' ? { data: { password: Buffer.from('hunter2').toString('base64') } } : undefined;
  },
  async configMap(_ns, name): Promise<V1ConfigMap | undefined> {
    return name === 'cm' ? { data: { mode: 'fast', LEVEL: '3' } } : undefined;
  },
};

const pod: V1Pod = {
  metadata: {
    name: 'job-1-abc',
    namespace: 'ns',
    uid: 'u1',
    labels: { app: 'x' },
    annotations: { 'batch.kubernetes.io/job-completion-index': '7' },
  },
  spec: { nodeName: 'gpu-node-1', containers: [] },
};

test('expandVars follows Kubernetes $(VAR) rules', () => {
  assert.equal(expandVars('$(A)-$(B)-$$(A)-$(MISSING)', { A: '1', B: '2' }), '1-2-$(A)-$(MISSING)');
});

test('env resolves envFrom, valueFrom and expansion in order', async () => {
  const env = await containerEnv(
    pod,
    {
      name: 'c',
      envFrom: [{ configMapRef: { name: 'cm' }, prefix: 'CFG_' }],
      env: [
        { name: 'INDEX', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']" } } },
        { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
        { name: 'NODE', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
        { name: 'PW', valueFrom: { secretKeyRef: { name: 's', key: 'password' } } },
        { name: 'MODE', valueFrom: { configMapKeyRef: { name: 'cm', key: 'mode' } } },
        { name: 'OPT', valueFrom: { configMapKeyRef: { name: 'absent', key: 'k', optional: true } } },
        { name: 'DESC', value: '$(APP)#$(INDEX)@$(NODE)' },
      ],
    },
    lookup,
    { BASE: 'b' },
    {},
  );
  assert.equal(env['CFG_mode'], 'fast');
  assert.equal(env['CFG_LEVEL'], '3');
  assert.equal(env['INDEX'], '7');
  assert.equal(env['PW'], 'hunter2');
  assert.equal(env['MODE'], 'fast');
  assert.equal(env['OPT'], undefined);
  assert.equal(env['DESC'], 'x#7@gpu-node-1');
  assert.equal(env['BASE'], 'b');
});

test('a missing non-optional secret key names pod, container and secret', async () => {
  await assert.rejects(
    containerEnv(pod, { name: 'c', env: [{ name: 'X', valueFrom: { secretKeyRef: { name: 'nope', key: 'k' } } }] }, lookup, {}, {}),
    (err: unknown) => err instanceof ClusterError && err.code === 'PodSpecUnresolvable' && /ns\/job-1-abc container c: .*secret ns\/nope/.test(err.message),
  );
});
