/**
 * Installs the UpscaleJob CRD into the test cluster for the tests that need it. It applies what
 * buildCrd() generates now, not the committed file, so a test never runs against a stale schema;
 * server-side apply with one field manager makes it idempotent across tests and test processes.
 */
import assert from 'node:assert/strict';
import { CRD_NAME, buildCrd } from '../../operator/api/crd.ts';
import { GROUP, PLURAL, VERSION } from '../../operator/api/upscalejob.ts';
import { waitFor, type TestCluster } from './harness.ts';

const FIELD_MANAGER = 'upscale-operator-tests';

/** Applies the UpscaleJob CRD and waits until the API server serves the resource. */
export async function ensureCrd(cluster: TestCluster): Promise<void> {
  // kubectl, not the typed client: its serializer drops the schema's x-kubernetes-* keys it
  // does not know by their JSON names.
  const applied = await cluster.kubectl(['apply', '--server-side', '--force-conflicts', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], {
    input: JSON.stringify(buildCrd()),
  });
  if (applied.code !== 0) throw new Error(`applying CRD ${CRD_NAME}: ${applied.stderr.trim()}`);
  await waitFor(`CRD ${CRD_NAME} to be established`, async () => {
    const crd = await cluster.apiext.readCustomResourceDefinition({ name: CRD_NAME });
    const isTrue = (type: string) => crd.status?.conditions?.some((c) => c.type === type && c.status === 'True') ?? false;
    return isTrue('NamesAccepted') && isTrue('Established');
  });
  // Established can precede the resource's handler by a moment; a list proves it is served.
  await waitFor(`the ${PLURAL}.${GROUP} API to be served`, () => cluster.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL }), 30_000);
}

/**
 * The API error of a call that should fail (fails the test when it succeeds): its HTTP code, raw
 * body, and the Status message the API server put in it.
 */
export async function rejection(call: Promise<unknown>, what: string): Promise<{ code: number; body: string; message: string }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e as { code?: number; body?: unknown },
  );
  assert.ok(err, `${what} was accepted`);
  const body = typeof err.body === 'string' ? err.body : JSON.stringify(err.body);
  return { code: err.code ?? 0, body, message: (JSON.parse(body) as { message: string }).message };
}
