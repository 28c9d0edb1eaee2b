/**
 * A container's environment as the kubelet builds it: `envFrom` (config maps and secrets, with
 * prefix), then `env` (values with `$(VAR)` expansion, and `valueFrom` secretKeyRef,
 * configMapKeyRef, fieldRef, resourceFieldRef), plus the variables every container gets.
 */
import type { V1ConfigMap, V1Container, V1Pod, V1Secret } from '@kubernetes/client-node';
import { ClusterError } from '../cluster-error.ts';
import { fieldPathValue, resourceFieldValue } from './downward.ts';

/** Reads config maps and secrets of the pod's namespace; undefined when the object does not exist. */
export interface ObjectLookup {
  secret(namespace: string, name: string): Promise<V1Secret | undefined>;
  configMap(namespace: string, name: string): Promise<V1ConfigMap | undefined>;
}

/**
 * Expands `$(VAR)` references against `vars` as Kubernetes does: `$$` is an escaped `$`, and a
 * reference to an undefined variable is left as written.
 */
export function expandVars(input: string, vars: Readonly<Record<string, string>>): string {
  return input.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(vars, name) ? (vars[name] ?? '') : match;
  });
}

function decodeSecret(secret: V1Secret): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(secret.data ?? {})) out[k] = Buffer.from(v, 'base64').toString('utf8');
  for (const [k, v] of Object.entries(secret.stringData ?? {})) out[k] = v;
  return out;
}

/** The string data of a secret (base64 decoded). */
export function secretData(secret: V1Secret): Record<string, string> {
  return decodeSecret(secret);
}

const validEnvName = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/**
 * Builds the environment of one container. `base` comes first (service variables, GPU devices),
 * then envFrom, then env. Throws `PodSpecUnresolvable` naming the pod, container and reference
 * when a non-optional reference is missing; the caller retries later, as the kubelet does.
 */
export async function containerEnv(
  pod: V1Pod,
  container: V1Container,
  lookup: ObjectLookup,
  base: Readonly<Record<string, string>>,
  allocatable: Record<string, string>,
): Promise<Record<string, string>> {
  const ns = pod.metadata?.namespace ?? 'default';
  const where = `pod ${ns}/${pod.metadata?.name} container ${container.name}`;
  const missing = (what: string) => new ClusterError('PodSpecUnresolvable', `${where}: ${what}`);
  const env: Record<string, string> = { ...base };

  for (const source of container.envFrom ?? []) {
    const prefix = source.prefix ?? '';
    let data: Record<string, string> | undefined;
    if (source.configMapRef) {
      const cm = await lookup.configMap(ns, source.configMapRef.name ?? '');
      if (!cm && !source.configMapRef.optional) throw missing(`envFrom config map ${ns}/${source.configMapRef.name} not found`);
      data = cm?.data;
    } else if (source.secretRef) {
      const secret = await lookup.secret(ns, source.secretRef.name ?? '');
      if (!secret && !source.secretRef.optional) throw missing(`envFrom secret ${ns}/${source.secretRef.name} not found`);
      data = secret ? decodeSecret(secret) : undefined;
    }
    for (const [k, v] of Object.entries(data ?? {})) if (validEnvName.test(prefix + k)) env[prefix + k] = v;
  }

  for (const e of container.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      env[e.name] = expandVars(e.value ?? '', env);
    } else if (from.fieldRef) {
      env[e.name] = fieldPathValue(pod, from.fieldRef.fieldPath);
    } else if (from.resourceFieldRef) {
      const divisor = from.resourceFieldRef.divisor === undefined ? undefined : String(from.resourceFieldRef.divisor);
      env[e.name] = resourceFieldValue(container, from.resourceFieldRef.resource, divisor, allocatable);
    } else if (from.secretKeyRef) {
      const ref = from.secretKeyRef;
      const secret = await lookup.secret(ns, ref.name ?? '');
      const value = secret ? decodeSecret(secret)[ref.key] : undefined;
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw missing(`env ${e.name}: key ${ref.key} of secret ${ns}/${ref.name} not found`);
    } else if (from.configMapKeyRef) {
      const ref = from.configMapKeyRef;
      const cm = await lookup.configMap(ns, ref.name ?? '');
      const value = cm?.data?.[ref.key];
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw missing(`env ${e.name}: key ${ref.key} of config map ${ns}/${ref.name} not found`);
    }
  }
  return env;
}
