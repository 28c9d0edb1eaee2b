/**
 * Certificates and keys of the test cluster, made with the openssl CLI: one CA, the apiserver's
 * serving certificate, client certificates for the admin, the controller-manager, the scheduler
 * and the apiserver's kubelet client, the node agent's serving certificate (for `kubectl logs`),
 * and the service-account signing key. EC P-256 keys keep generation fast on small machines.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ClusterError, describeError } from './cluster-error.ts';

const run = promisify(execFile);

/** Files of one certificate and its key. */
export interface CertFiles {
  cert: string;
  key: string;
}

/** All PKI files of the cluster. */
export interface Pki {
  ca: CertFiles;
  apiserver: CertFiles;
  admin: CertFiles;
  controllerManager: CertFiles;
  scheduler: CertFiles;
  kubeletClient: CertFiles;
  agentServing: CertFiles;
  /** Service-account token signing key (private) and its public half. */
  serviceAccountKey: string;
  serviceAccountPub: string;
}

interface LeafSpec {
  name: keyof Omit<Pki, 'ca' | 'serviceAccountKey' | 'serviceAccountPub'>;
  file: string;
  subject: string;
  usage: 'serverAuth' | 'clientAuth';
  san?: string;
}

const leaves: LeafSpec[] = [
  {
    name: 'apiserver',
    file: 'apiserver',
    subject: '/CN=kube-apiserver',
    usage: 'serverAuth',
    san: 'IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local',
  },
  { name: 'admin', file: 'admin', subject: '/O=system:masters/CN=cluster-admin', usage: 'clientAuth' },
  { name: 'controllerManager', file: 'kube-controller-manager', subject: '/CN=system:kube-controller-manager', usage: 'clientAuth' },
  { name: 'scheduler', file: 'kube-scheduler', subject: '/CN=system:kube-scheduler', usage: 'clientAuth' },
  { name: 'kubeletClient', file: 'apiserver-kubelet-client', subject: '/O=system:masters/CN=kube-apiserver-kubelet-client', usage: 'clientAuth' },
  { name: 'agentServing', file: 'node-agent', subject: '/CN=node-agent', usage: 'serverAuth', san: 'IP:127.0.0.1,DNS:localhost' },
];

async function openssl(args: string[], what: string): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    throw new ClusterError('PkiFailed', `generating ${what} with openssl failed: ${describeError(err)}`, { cause: err });
  }
}

const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** The PKI file names inside a folder. */
export function pkiFiles(dir: string): Pki {
  const pair = (f: string): CertFiles => ({ cert: join(dir, `${f}.crt`), key: join(dir, `${f}.key`) });
  const pki: Record<string, unknown> = {
    ca: pair('ca'),
    serviceAccountKey: join(dir, 'sa.key'),
    serviceAccountPub: join(dir, 'sa.pub'),
  };
  for (const leaf of leaves) pki[leaf.name] = pair(leaf.file);
  return pki as unknown as Pki;
}

/** Creates the PKI in `dir` unless every file is already there; returns the file names. */
export async function ensurePki(dir: string): Promise<Pki> {
  const pki = pkiFiles(dir);
  const all = [pki.ca, ...leaves.map((l) => pki[l.name])].flatMap((p) => [p.cert, p.key]);
  if ([...all, pki.serviceAccountKey, pki.serviceAccountPub].every((f) => existsSync(f))) return pki;
  mkdirSync(dir, { recursive: true });
  await openssl(
    ['req', '-x509', ...ecKey, '-keyout', pki.ca.key, '-out', pki.ca.cert, '-days', '3650', '-subj', '/CN=upscale-operator-test-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'],
    'the cluster CA',
  );
  await Promise.all([
    ...leaves.map((leaf) =>
      openssl(
        ['req', '-x509', ...ecKey, '-keyout', pki[leaf.name].key, '-out', pki[leaf.name].cert, '-days', '3650',
          '-subj', leaf.subject, '-CA', pki.ca.cert, '-CAkey', pki.ca.key,
          '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
          '-addext', `extendedKeyUsage=${leaf.usage}`, ...(leaf.san ? ['-addext', `subjectAltName=${leaf.san}`] : [])],
        `the ${leaf.file} certificate`,
      ),
    ),
    (async () => {
      await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-out', pki.serviceAccountKey], 'the service-account key');
      await openssl(['pkey', '-in', pki.serviceAccountKey, '-pubout', '-out', pki.serviceAccountPub], 'the service-account public key');
    })(),
  ]);
  return pki;
}
