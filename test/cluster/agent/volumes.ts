/**
 * Pod volumes materialised as folders under the pod's folder: Secret, ConfigMap, emptyDir,
 * downwardAPI, projected (ServiceAccount token, config map, secret, downward API) and hostPath
 * (used in place). Containers see them through path rewriting (see `path-map.ts`).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { V1DownwardAPIVolumeFile, V1KeyToPath, V1Pod, V1Volume } from '@kubernetes/client-node';
import { ClusterError } from '../cluster-error.ts';
import { fieldPathValue, resourceFieldValue } from './downward.ts';
import { secretData, type ObjectLookup } from './env.ts';

/** Lookups a volume needs beyond config maps and secrets. */
export interface VolumeLookup extends ObjectLookup {
  /** A token for the pod's ServiceAccount, bound to the pod (TokenRequest API). */
  serviceAccountToken(pod: V1Pod, audience: string | undefined, expirationSeconds: number | undefined): Promise<string>;
}

function writeFile(path: string, content: string | Buffer, mode: number | undefined): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  if (mode !== undefined) chmodSync(path, mode);
}

function writeKeys(dir: string, data: Record<string, string | Buffer>, items: V1KeyToPath[] | undefined, defaultMode: number | undefined, what: string, optional: boolean): void {
  mkdirSync(dir, { recursive: true });
  if (items && items.length > 0) {
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) {
        if (optional) continue;
        throw new ClusterError('PodSpecUnresolvable', `${what} has no key ${item.key}`);
      }
      writeFile(join(dir, item.path), value, item.mode ?? defaultMode);
    }
    return;
  }
  for (const [key, value] of Object.entries(data)) writeFile(join(dir, key), value, defaultMode);
}

function writeDownward(dir: string, pod: V1Pod, items: V1DownwardAPIVolumeFile[], defaultMode: number | undefined, allocatable: Record<string, string>): void {
  for (const item of items) {
    let value = '';
    if (item.fieldRef) value = fieldPathValue(pod, item.fieldRef.fieldPath);
    else if (item.resourceFieldRef) {
      const container = pod.spec?.containers.find((c) => c.name === item.resourceFieldRef?.containerName) ?? pod.spec?.containers[0];
      const divisor = item.resourceFieldRef.divisor === undefined ? undefined : String(item.resourceFieldRef.divisor);
      if (container) value = resourceFieldValue(container, item.resourceFieldRef.resource, divisor, allocatable);
    }
    writeFile(join(dir, item.path), value, item.mode ?? defaultMode);
  }
}

async function configMapData(lookup: ObjectLookup, ns: string, name: string, optional: boolean, where: string): Promise<Record<string, string | Buffer> | undefined> {
  const cm = await lookup.configMap(ns, name);
  if (!cm) {
    if (optional) return undefined;
    throw new ClusterError('PodSpecUnresolvable', `${where}: config map ${ns}/${name} not found`);
  }
  const data: Record<string, string | Buffer> = { ...cm.data };
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
  return data;
}

async function secretValues(lookup: ObjectLookup, ns: string, name: string, optional: boolean, where: string): Promise<Record<string, string> | undefined> {
  const secret = await lookup.secret(ns, name);
  if (!secret) {
    if (optional) return undefined;
    throw new ClusterError('PodSpecUnresolvable', `${where}: secret ${ns}/${name} not found`);
  }
  return secretData(secret);
}

async function materializeOne(pod: V1Pod, volume: V1Volume, dir: string, lookup: VolumeLookup, allocatable: Record<string, string>): Promise<string> {
  const ns = pod.metadata?.namespace ?? 'default';
  const where = `pod ${ns}/${pod.metadata?.name} volume ${volume.name}`;
  if (volume.hostPath) return volume.hostPath.path;
  mkdirSync(dir, { recursive: true });
  if (volume.emptyDir) return dir;
  if (volume.secret) {
    const optional = volume.secret.optional ?? false;
    const data = await secretValues(lookup, ns, volume.secret.secretName ?? '', optional, where);
    writeKeys(dir, data ?? {}, volume.secret.items, volume.secret.defaultMode, `${where} secret ${volume.secret.secretName}`, optional);
    return dir;
  }
  if (volume.configMap) {
    const optional = volume.configMap.optional ?? false;
    const data = await configMapData(lookup, ns, volume.configMap.name ?? '', optional, where);
    writeKeys(dir, data ?? {}, volume.configMap.items, volume.configMap.defaultMode, `${where} config map ${volume.configMap.name}`, optional);
    return dir;
  }
  if (volume.downwardAPI) {
    writeDownward(dir, pod, volume.downwardAPI.items ?? [], volume.downwardAPI.defaultMode, allocatable);
    return dir;
  }
  if (volume.projected) {
    const mode = volume.projected.defaultMode;
    for (const source of volume.projected.sources ?? []) {
      if (source.serviceAccountToken) {
        const t = source.serviceAccountToken;
        const token = await lookup.serviceAccountToken(pod, t.audience, t.expirationSeconds);
        writeFile(join(dir, t.path), token, mode ?? 0o600);
      } else if (source.configMap) {
        const optional = source.configMap.optional ?? false;
        const data = await configMapData(lookup, ns, source.configMap.name ?? '', optional, where);
        writeKeys(dir, data ?? {}, source.configMap.items, mode, `${where} config map ${source.configMap.name}`, optional);
      } else if (source.secret) {
        const optional = source.secret.optional ?? false;
        const data = await secretValues(lookup, ns, source.secret.name ?? '', optional, where);
        writeKeys(dir, data ?? {}, source.secret.items, mode, `${where} secret ${source.secret.name}`, optional);
      } else if (source.downwardAPI) {
        writeDownward(dir, pod, source.downwardAPI.items ?? [], mode, allocatable);
      }
    }
    return dir;
  }
  throw new ClusterError('PodSpecUnresolvable', `${where}: this volume type is not supported by the node agent (supported: secret, configMap, emptyDir, downwardAPI, projected, hostPath)`);
}

/**
 * Writes every volume of the pod under `<podDir>/volumes/<name>` and returns the host folder of
 * each volume by name. Safe to call again (files are rewritten), which is how a retry after a
 * missing secret or config map works.
 */
export async function materializeVolumes(pod: V1Pod, podDir: string, lookup: VolumeLookup, allocatable: Record<string, string>): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const volume of pod.spec?.volumes ?? []) {
    out.set(volume.name, await materializeOne(pod, volume, join(podDir, 'volumes', volume.name), lookup, allocatable));
  }
  return out;
}
