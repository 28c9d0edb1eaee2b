/**
 * Tolerations of the shard pods: the user's (`spec.podTemplate.spec.tolerations`) plus a short
 * toleration of a lost node for each of Kubernetes' two node-loss taints the user left alone.
 *
 * Without one, the DefaultTolerationSeconds admission plugin gives every pod 300 s for both
 * `node.kubernetes.io/not-ready` and `node.kubernetes.io/unreachable` (NoExecute): a dead GPU node
 * keeps its shards for five minutes before they are evicted and run elsewhere. A shard is short and
 * resumable (a rerun redoes at most one shard's frames, and two attempts of one shard cannot both
 * commit), so waiting long for the node to come back buys little; the operator's default is 30 s
 * (`--shard-node-loss-toleration-seconds`), which still rides out a kubelet restart or a brief
 * network blip. The admission plugin adds its 300 s only for taints a pod does not tolerate, so
 * these take its place.
 */
import type { V1Toleration } from '@kubernetes/client-node';

/** The node-lifecycle controller's taints of a node that stopped reporting (NoExecute). */
export const NODE_LOSS_TAINTS = ['node.kubernetes.io/not-ready', 'node.kubernetes.io/unreachable'] as const;

/** The operator's default toleration of a lost node for shard pods, seconds (see the file comment). */
export const DEFAULT_SHARD_NODE_LOSS_SECONDS = 30;

/** A toleration as the UpscaleJob spec holds it (the subset of core/v1 Toleration it accepts). */
export interface TolerationSpec {
  key?: string | undefined;
  operator?: 'Exists' | 'Equal' | undefined;
  value?: string | undefined;
  effect?: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute' | undefined;
  tolerationSeconds?: number | undefined;
}

/**
 * The user's tolerations, then one for each node-loss taint none of them matches, tolerated for
 * `seconds`. A user's toleration that matches the taint (its key, or an empty key with `Exists`;
 * effect NoExecute or any) wins, whatever its `tolerationSeconds`: Kubernetes would otherwise evict
 * at the shortest matching toleration, overriding the user's choice.
 */
export function shardTolerations(user: readonly TolerationSpec[] | undefined, seconds: number): V1Toleration[] {
  const own = (user ?? []) as V1Toleration[];
  const added = NODE_LOSS_TAINTS.filter((key) => !own.some((t) => matchesNoExecute(t, key))).map(
    (key): V1Toleration => ({ key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: seconds }),
  );
  return [...own, ...added];
}

function matchesNoExecute(t: V1Toleration, key: string): boolean {
  const keyMatches = t.key === key || ((t.key === undefined || t.key === '') && t.operator === 'Exists');
  return keyMatches && (t.effect === undefined || t.effect === '' || t.effect === 'NoExecute');
}
