/**
 * Kubeconfig files of the test cluster: one per component identity (client certificate) and,
 * for tests that must act with a ServiceAccount's RBAC rather than as admin, one built from a
 * token obtained through the TokenRequest API.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { ClusterError, describeError } from './cluster-error.ts';
import type { CertFiles } from './pki.ts';

/** The kubeconfig document for one user of one cluster. */
export function kubeconfigDocument(server: string, caFile: string, userName: string, user: Record<string, string>): object {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'upscale-test', cluster: { server, 'certificate-authority-data': readFileSync(caFile).toString('base64') } }],
    users: [{ name: userName, user }],
    contexts: [{ name: userName, context: { cluster: 'upscale-test', user: userName, namespace: 'default' } }],
    'current-context': userName,
  };
}

/** Writes a kubeconfig that authenticates with a client certificate (data embedded, file mode 0600). */
export function writeCertKubeconfig(path: string, server: string, caFile: string, userName: string, client: CertFiles): void {
  const doc = kubeconfigDocument(server, caFile, userName, {
    'client-certificate-data': readFileSync(client.cert).toString('base64'),
    'client-key-data': readFileSync(client.key).toString('base64'),
  });
  writeFileSync(path, stringify(doc), { mode: 0o600 });
}

/** Loads a kubeconfig file into a client-node KubeConfig. */
export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * A KubeConfig that acts as a ServiceAccount: requests a token for `namespace/name` through the
 * TokenRequest API with the admin config, and returns a config with only that bearer token.
 */
export async function serviceAccountKubeConfig(
  admin: KubeConfig,
  namespace: string,
  name: string,
  expirationSeconds = 3600,
): Promise<KubeConfig> {
  const core = admin.makeApiClient(CoreV1Api);
  let token: string;
  try {
    const res = await core.createNamespacedServiceAccountToken({
      name,
      namespace,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [], expirationSeconds } },
    });
    token = res.status?.token ?? '';
  } catch (err) {
    throw new ClusterError('ApiFailed', `requesting a token for ServiceAccount ${namespace}/${name} failed: ${describeError(err)}`, { cause: err });
  }
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new ClusterError('ApiFailed', 'the admin kubeconfig has no current cluster');
  const user = `system:serviceaccount:${namespace}:${name}`;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: user, token }],
    contexts: [{ name: user, cluster: cluster.name, user, namespace }],
    currentContext: user,
  });
  return kc;
}

/** Writes a ServiceAccount's KubeConfig (from `serviceAccountKubeConfig`) to a file for kubectl or helm. */
export function writeKubeConfig(path: string, kc: KubeConfig): void {
  writeFileSync(path, kc.exportConfig(), { mode: 0o600 });
}
