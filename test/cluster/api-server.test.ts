/**
 * The control plane itself: CRD validation with CEL, RBAC for a ServiceAccount acting through
 * a TokenRequest token, and the kubectl and helm binaries from .cluster/bin.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CoreV1Api } from '@kubernetes/client-node';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();

test('a CRD with a CEL rule rejects a violating object with the field path', async (t) => {
  const ns = await cluster.namespace(t);
  const group = `cel${randomBytes(3).toString('hex')}.test.upscale-operator.io`;
  const plural = 'shardplans';
  await cluster.apiext.createCustomResourceDefinition({
    body: {
      metadata: { name: `${plural}.${group}` },
      spec: {
        group,
        scope: 'Namespaced',
        names: { plural, singular: 'shardplan', kind: 'ShardPlan' },
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: {
                    type: 'object',
                    required: ['shards', 'maxShards'],
                    properties: { shards: { type: 'integer', minimum: 1 }, maxShards: { type: 'integer' } },
                    x_kubernetes_validations: [
                      { rule: 'self.shards <= self.maxShards', message: 'shards must not exceed maxShards', fieldPath: '.shards', reason: 'FieldValueInvalid' },
                    ],
                  },
                },
              },
            },
          },
        ],
      },
    },
  });
  t.after(() => cluster.apiext.deleteCustomResourceDefinition({ name: `${plural}.${group}` }).catch(() => undefined));
  await waitFor('the CRD to be established', async () => {
    const crd = await cluster.apiext.readCustomResourceDefinition({ name: `${plural}.${group}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
  });

  const make = (name: string, shards: number) => ({ apiVersion: `${group}/v1`, kind: 'ShardPlan', metadata: { name }, spec: { shards, maxShards: 4 } });
  // Discovery of a new group can lag establishment by a moment; the valid create is retried.
  await waitFor('a valid object to be accepted', () => cluster.custom.createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, body: make('ok', 4) }), 30_000);

  const err = await cluster.custom
    .createNamespacedCustomObject({ group, version: 'v1', namespace: ns, plural, body: make('too-many', 5) })
    .then(() => undefined, (e: unknown) => e as { code?: number; body?: string });
  assert.ok(err, 'the violating object was accepted');
  assert.equal(err.code, 422);
  assert.match(String(err.body), /spec\.shards/);
  assert.match(String(err.body), /shards must not exceed maxShards/);
});

test('a ServiceAccount without a verb gets 403', async (t) => {
  const ns = await cluster.namespace(t);
  await cluster.core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  await cluster.rbac.createNamespacedRole({
    namespace: ns,
    body: { metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }] },
  });
  await cluster.rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'reader' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sa-kubeconfig-'));
  const file = join(dir, 'kubeconfig');
  const sa = (await cluster.serviceAccount(ns, 'reader', file)).makeApiClient(CoreV1Api);

  // RBAC caches are informer-fed: the binding may take a moment to apply.
  await waitFor('the ServiceAccount to list pods', () => sa.listNamespacedPod({ namespace: ns }));
  const denied = await sa
    .createNamespacedPod({ namespace: ns, body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } })
    .then(() => undefined, (e: unknown) => e as { code?: number; body?: string });
  assert.ok(denied, 'the ServiceAccount could create a pod');
  assert.equal(denied.code, 403);
  assert.match(String(denied.body), new RegExp(`system:serviceaccount:${ns}:reader`));
  const other = await sa.listNamespacedPod({ namespace: 'default' }).then(() => 200, (e: unknown) => (e as { code?: number }).code);
  assert.equal(other, 403);

  const canI = await cluster.kubectl(['auth', 'can-i', 'delete', 'pods', '-n', ns], { kubeconfig: file });
  assert.equal(canI.stdout.trim(), 'no');
  const canList = await cluster.kubectl(['auth', 'can-i', 'list', 'pods', '-n', ns], { kubeconfig: file });
  assert.equal(canList.stdout.trim(), 'yes');
});

test('kubectl and helm from .cluster/bin work against the cluster', async (t) => {
  const ns = await cluster.namespace(t);
  const version = await cluster.kubectl(['version', '-o', 'json']);
  assert.equal(version.code, 0, version.stderr);
  const v = JSON.parse(version.stdout) as { serverVersion: { gitVersion: string; minor: string }; clientVersion: { gitVersion: string } };
  assert.match(v.serverVersion.gitVersion, /^v1\.3[4-9]\.\d+$/);
  assert.equal(v.clientVersion.gitVersion, v.serverVersion.gitVersion);
  const nodes = await cluster.kubectl(['get', 'nodes', '-o', 'name']);
  assert.deepEqual(nodes.stdout.trim().split('\n').sort(), (await cluster.nodeNames()).map((n) => `node/${n}`));

  const chart = mkdtempSync(join(tmpdir(), 'chart-'));
  mkdirSync(join(chart, 'templates'));
  writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: tiny\nversion: 0.1.0\n');
  writeFileSync(join(chart, 'values.yaml'), 'greeting: hello\n');
  writeFileSync(
    join(chart, 'templates', 'configmap.yaml'),
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-greeting\ndata:\n  greeting: {{ .Values.greeting | quote }}\n',
  );
  const rendered = await cluster.helm(['template', 'demo', chart, '--set', 'greeting=hi']);
  assert.equal(rendered.code, 0, rendered.stderr);
  assert.match(rendered.stdout, /name: demo-greeting/);
  assert.match(rendered.stdout, /greeting: "hi"/);

  const installed = await cluster.helm(['install', 'demo', chart, '-n', ns, '--wait', '--timeout', '60s']);
  assert.equal(installed.code, 0, installed.stderr);
  const cm = await cluster.core.readNamespacedConfigMap({ namespace: ns, name: 'demo-greeting' });
  assert.equal(cm.data?.['greeting'], 'hello');
  const list = await cluster.helm(['list', '-n', ns, '-o', 'json']);
  const releases = JSON.parse(list.stdout) as { name: string; status: string }[];
  assert.deepEqual(releases.map((r) => [r.name, r.status]), [['demo', 'deployed']]);
  const uninstalled = await cluster.helm(['uninstall', 'demo', '-n', ns, '--wait']);
  assert.equal(uninstalled.code, 0, uninstalled.stderr);
  await waitFor('the release config map to be deleted', () =>
    cluster.core.readNamespacedConfigMap({ namespace: ns, name: 'demo-greeting' }).then(() => false, (e: unknown) => (e as { code?: number }).code === 404),
  );
});
