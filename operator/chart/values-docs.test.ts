/**
 * The Helm chart cannot drift: its README is generated from values.yaml, every value is documented
 * and in values.schema.json (and the reverse), and `helm lint` / `helm template` with the test
 * cluster's helm enforce the schema and render restricted pods with the RBAC file's rules.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parse, parseAllDocuments } from 'yaml';
import { CHART_DIR, README_FILE, VALUES_FILE, chartReadme, valueDocs } from './values-docs.ts';

const run = promisify(execFile);
/** helm from the test cluster's build (`npm run cluster:build`, run by .ci/run before the tests). */
function findHelm(): string | undefined {
  const root = join(CHART_DIR, '../..');
  const started = join(root, '.cluster/bin/helm');
  if (existsSync(started)) return started;
  const builds = join(root, '.cache/cluster-bin');
  if (!existsSync(builds)) return undefined;
  return readdirSync(builds).map((d) => join(builds, d, 'helm')).find((p) => existsSync(p));
}
const HELM = findHelm() ?? 'helm';
const values = readFileSync(VALUES_FILE, 'utf8');

interface SchemaNode {
  type?: string | string[];
  properties?: Record<string, SchemaNode>;
}

test('the chart README is the one generated from values.yaml', () => {
  assert.ok(readFileSync(README_FILE, 'utf8') === chartReadme(values), 'charts/upscale-operator/README.md is out of date: run `npm run chart:docs`');
});

test('every value is documented and in values.schema.json, and the schema has no value the chart lacks', () => {
  const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as SchemaNode;
  const documented = new Set(valueDocs(values).map((d) => d.key));
  const leaves: string[] = [];
  const walk = (obj: unknown, node: SchemaNode | undefined, prefix: string) => {
    for (const [k, v] of Object.entries(obj as Record<string, unknown>)) {
      const key = `${prefix}${k}`;
      const child = node?.properties?.[k];
      assert.ok(child !== undefined, `values.yaml has ${key}, values.schema.json does not`);
      if (documented.has(key)) leaves.push(key);
      else if (v !== null && typeof v === 'object' && !Array.isArray(v)) walk(v, child, `${key}.`);
      else assert.fail(`${key} has no "# --" description in values.yaml`);
    }
    for (const k of Object.keys(node?.properties ?? {})) assert.ok(k in (obj as object), `values.schema.json has ${prefix}${k}, values.yaml does not`);
  };
  walk(parse(values), schema, '');
  assert.ok(leaves.length >= 25, `${leaves.length} documented values`);
});

const helm = findHelm() !== undefined;

test('helm enforces the schema and renders restricted operator pods with the RBAC file\'s rules', { skip: !helm && 'the test cluster\'s helm is not built (npm run cluster:build)' }, async () => {
  await run(HELM, ['lint', '--strict', CHART_DIR]);
  await assert.rejects(run(HELM, ['template', 'x', CHART_DIR, '--set', 'replicaCount=two']), /replicaCount/);
  await assert.rejects(run(HELM, ['template', 'x', CHART_DIR, '--set', 'bogus=1']), /bogus/);
  await assert.rejects(run(HELM, ['template', 'x', CHART_DIR, '--set', 'leaderElection.enabled=false']), /needs leaderElection/);
  const { stdout } = await run(HELM, ['template', 'up', CHART_DIR, '-n', 'ops', '--set', 'watchNamespace=media', '--set', 'storage.endpoint=http://minio:9000']);
  const docs = parseAllDocuments(stdout).map((d) => d.toJSON() as { kind: string; spec?: Record<string, unknown>; rules?: unknown[] }).filter(Boolean);
  const deployment = docs.find((d) => d.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { securityContext: Record<string, unknown>; containers: Array<{ args: string[]; securityContext: Record<string, unknown> }> } } } };
  assert.equal(deployment.spec.replicas, 2);
  const pod = deployment.spec.template.spec;
  assert.equal(pod.securityContext['runAsNonRoot'], true);
  assert.deepEqual(pod.containers[0]!.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
  const args = pod.containers[0]!.args;
  for (const a of ['operator', '--namespace=media', '--leader-election-namespace=ops', '--s3-endpoint=http://minio:9000']) assert.ok(args.includes(a), `${a} in ${args.join(' ')}`);
  const role = docs.find((d) => d.kind === 'ClusterRole')!;
  const file = parse(readFileSync(join(CHART_DIR, 'files/rbac.yaml'), 'utf8')) as { rules: unknown[] };
  assert.deepEqual(role.rules, file.rules);
  assert.ok(!JSON.stringify(role.rules).includes('secrets'), 'the operator reads no Secrets');
});
