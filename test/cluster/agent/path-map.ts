/**
 * Container paths on the host. A container process runs on this machine, so the paths it is
 * given (volume mount paths, `terminationMessagePath`, `workingDir`) are rewritten to the pod's
 * host folders wherever they appear in `command`, `args` and env values: `/data/x` with an
 * emptyDir mounted at `/data` becomes `.cluster/pods/<pod>/volumes/<vol>/x`. Programs that build
 * paths themselves can read the map from `KUBE_AGENT_PATH_MAP` (JSON `[[containerPath, hostPath]]`).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { V1Container } from '@kubernetes/client-node';
import { ClusterError } from '../cluster-error.ts';
import { expandVars } from './env.ts';

/** One container path and the host path it stands for. */
export interface PathMapping {
  containerPath: string;
  hostPath: string;
}

/** The mappings of a container's volume mounts (with subPath and subPathExpr). */
export function mountMappings(container: V1Container, volumes: ReadonlyMap<string, string>, env: Readonly<Record<string, string>>): PathMapping[] {
  return (container.volumeMounts ?? []).map((m) => {
    const base = volumes.get(m.name);
    if (base === undefined) {
      throw new ClusterError('PodSpecUnresolvable', `container ${container.name}: volumeMount ${m.name} names no volume of the pod`);
    }
    const sub = m.subPathExpr ? expandVars(m.subPathExpr, env) : (m.subPath ?? '');
    const hostPath = sub ? join(base, sub) : base;
    if (sub) mkdirSync(hostPath, { recursive: true });
    return { containerPath: m.mountPath.replace(/\/+$/, '') || '/', hostPath };
  });
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Rewrites container paths in one string. A path matches only as a whole path prefix: at the
 * start or after a separator (`=`, `:`, space, quote, comma, shell redirection) and followed by `/`, a separator
 * or the end. Longest container paths win; each occurrence is rewritten once.
 */
export function rewritePaths(value: string, mappings: readonly PathMapping[]): string {
  const usable = mappings.filter((m) => m.containerPath !== '/');
  if (usable.length === 0) return value;
  const sorted = [...usable].sort((a, b) => b.containerPath.length - a.containerPath.length);
  const re = new RegExp(`(^|[\\s=:,;"'<>(|&\`])(${sorted.map((m) => escapeRegExp(m.containerPath)).join('|')})(?=$|[/\\s:,;"'=)<>|&\`])`, 'g');
  return value.replace(re, (_all, lead: string, path: string) => lead + (sorted.find((m) => m.containerPath === path)?.hostPath ?? path));
}
