/**
 * The operator's ServiceAccount, bound to the chart's ClusterRole (charts/upscale-operator/files/
 * rbac.yaml) on the real test cluster, asked what it may do (`kubectl auth can-i --list`): the answer
 * must be exactly the documented set (README "Reliability"), so a rule added to the file fails here
 * until it is documented. The API server evaluates RBAC, not a parse of the YAML.
 */
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { useCluster, type TestCluster } from '../cluster/harness.ts';
import { OPERATOR_NAMESPACE, OPERATOR_SA, operatorKubeconfig } from './operator-support.ts';

const AS = `--as=system:serviceaccount:${OPERATOR_NAMESPACE}:${OPERATOR_SA}`;

/** The documented permissions: resource.group -> verbs, in any namespace. */
const DOCUMENTED: Record<string, string[]> = {
  'upscalejobs.upscale.dev': ['delete', 'get', 'list', 'patch', 'update', 'watch'],
  'upscalejobs.upscale.dev/status': ['get', 'patch', 'update'],
  'upscalejobs.upscale.dev/finalizers': ['update'],
  'jobs.batch': ['create', 'delete', 'get', 'list', 'patch', 'watch'],
  pods: ['get', 'list', 'watch'],
  'workloads.kueue.x-k8s.io': ['get', 'list', 'patch'],
  'events.events.k8s.io': ['create', 'patch'],
  'leases.coordination.k8s.io': ['create', 'get', 'update'],
};

/** An account bound to nothing: what it may do every account may (system:basic-user and friends). */
const NOBODY = '--as=system:serviceaccount:default:nobody-upscale-rbac-test';

function parseList(stdout: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const line of stdout.split('\n').slice(1)) {
    const m = /^(\S+)\s+\[(.*?)\]\s+\[(.*?)\]\s+\[(.*?)\]\s*$/.exec(line.trim());
    if (!m?.[1] || m[2] !== '') continue; // non-resource URLs (/healthz, /api...) are discovery
    assert.equal(m[3], '', `no rule is limited to resource names: ${line}`);
    out[m[1]] = (m[4] ?? '').split(' ').filter(Boolean).sort();
  }
  return out;
}

describe("the operator's RBAC on the test cluster", () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await useCluster();
    await operatorKubeconfig(cluster);
  });

  it('can-i --list is exactly the documented set, in its own and in any other namespace', async () => {
    for (const ns of [OPERATOR_NAMESPACE, 'default']) {
      const baseline = await cluster.kubectl(['auth', 'can-i', '--list', NOBODY, '-n', ns]);
      assert.equal(baseline.code, 0, baseline.stderr);
      const everyone = parseList(baseline.stdout);
      const res = await cluster.kubectl(['auth', 'can-i', '--list', AS, '-n', ns]);
      assert.equal(res.code, 0, res.stderr);
      const granted = Object.fromEntries(Object.entries(parseList(res.stdout)).filter(([r, verbs]) => JSON.stringify(everyone[r]) !== JSON.stringify(verbs)));
      assert.deepEqual(granted, DOCUMENTED, `in namespace ${ns}:\n${res.stdout}`);
    }
  });

  const denied: [verb: string, resource: string, flags: string[]][] = [
    ['get', 'secrets', ['-n', OPERATOR_NAMESPACE]],
    ['list', 'secrets', ['-A']],
    ['watch', 'configmaps', ['-A']],
    ['create', 'pods', ['-n', 'default']],
    ['create', 'pods/exec', ['-n', 'default']],
    ['create', 'serviceaccounts/token', ['-n', OPERATOR_NAMESPACE]],
    ['update', 'upscalejobs.upscale.dev', ['-n', 'default', '--subresource=scale']],
    ['create', 'customresourcedefinitions.apiextensions.k8s.io', []],
    ['patch', 'customresourcedefinitions.apiextensions.k8s.io', []],
    ['create', 'clusterroles.rbac.authorization.k8s.io', []],
    ['create', 'rolebindings.rbac.authorization.k8s.io', ['-n', 'default']],
    ['escalate', 'clusterroles.rbac.authorization.k8s.io', []],
    ['bind', 'clusterroles.rbac.authorization.k8s.io', []],
    ['impersonate', 'serviceaccounts', ['-A']],
    ['delete', 'namespaces', []],
    ['patch', 'nodes', []],
    ['delete', 'leases.coordination.k8s.io', ['-n', OPERATOR_NAMESPACE]],
    ['create', 'workloads.kueue.x-k8s.io', ['-n', 'default']],
  ];
  it(`is denied ${denied.length} things it never needs: Secrets, pods, CRDs, RBAC, impersonation, nodes`, async () => {
    for (const [verb, resource, flags] of denied) {
      const res = await cluster.kubectl(['auth', 'can-i', verb, resource, AS, ...flags]);
      assert.equal(res.stdout.trim(), 'no', `${verb} ${resource} ${flags.join(' ')}: ${res.stdout}${res.stderr}`);
    }
  });
});
