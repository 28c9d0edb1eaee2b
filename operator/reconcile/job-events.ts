/**
 * The story of a job as Kubernetes events (`kubectl events --for upscalejob/NAME`): which steps
 * started and finished, each shard retry, failure, suspension and resumption. Pure: it compares the
 * status before and after a reconcile and lists the events; stable CamelCase reasons.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { UpscaleJobStatus } from '../api/upscalejob.ts';
import { failureFromMessage, terminationMessage } from './probe-result.ts';
import { completionIndex, exitCode, timeOf } from './observed.ts';

export interface JobEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
}

/** Events for a status change from `before` to `after`; `shardPods` names the shard that failed. */
export function transitionEvents(before: UpscaleJobStatus | undefined, after: UpscaleJobStatus, shardPods: readonly V1Pod[]): JobEvent[] {
  const events: JobEvent[] = [];
  const from = before?.phase;
  const to = after.phase;
  if (from !== to) {
    if (from === 'Probing' && (to === 'Running' || to === 'Suspended')) {
      events.push({ type: 'Normal', reason: 'Probed', action: 'Probe', note: `probed ${after.frames?.total ?? '?'} frames into ${after.shards?.total ?? '?'} shards` });
    }
    // Running -> Succeeded: an assembly started during the last waves can finish before a reconcile sees Assembling.
    if (from === 'Running' && (to === 'Assembling' || to === 'Succeeded')) events.push({ type: 'Normal', reason: 'ShardsSucceeded', action: 'Shard', note: `all ${after.shards?.total ?? '?'} shards upscaled` });
    if (to === 'Suspended') events.push({ type: 'Normal', reason: 'Suspended', action: 'Suspend', note: after.message ?? 'suspended' });
    if (from === 'Suspended' && to !== 'Failed' && to !== 'Succeeded') events.push({ type: 'Normal', reason: 'Resumed', action: 'Resume', note: 'resumed; finished shards are kept' });
    if (to === 'Succeeded') events.push({ type: 'Normal', reason: 'Succeeded', action: 'Assemble', note: after.message ?? `wrote ${after.output ?? 'the output'}` });
    if (to === 'Failed') {
      const reason = after.conditions?.find((c) => c.type === 'Failed')?.reason ?? 'Failed';
      events.push({ type: 'Warning', reason, action: actionOf(reason), note: after.message ?? 'the job failed' });
    }
  }
  const failedBefore = before?.shards?.failed ?? 0;
  const failedAfter = after.shards?.failed ?? 0;
  if (failedAfter > failedBefore && to !== 'Failed') {
    const pod = newestFailed(shardPods);
    const index = pod === undefined ? undefined : completionIndex(pod);
    const cause = pod === undefined ? undefined : (failureFromMessage(terminationMessage(pod)) ?? `exit code ${exitCode(pod) ?? '?'}`);
    events.push({ type: 'Warning', reason: 'ShardRetried', action: 'Shard', note: `shard ${index ?? '?'} failed and is retried${cause === undefined ? '' : `: ${cause}`}` });
  }
  return events;
}

/** The event of a child Job created by the operator. */
export function createdEvent(component: string, jobName: string): JobEvent {
  const step = component === 'shards' ? 'Shards' : component.charAt(0).toUpperCase() + component.slice(1);
  return { type: 'Normal', reason: `${step}Started`, action: 'Create', note: `created Job ${jobName}` };
}

function actionOf(reason: string): string {
  if (reason.startsWith('Probe')) return 'Probe';
  if (reason.startsWith('Assemble')) return 'Assemble';
  if (reason.startsWith('Shard')) return 'Shard';
  return 'Reconcile';
}

function newestFailed(pods: readonly V1Pod[]): V1Pod | undefined {
  return pods
    .filter((p) => p.status?.phase === 'Failed')
    .sort((a, b) => timeOf(b.metadata?.creationTimestamp) - timeOf(a.metadata?.creationTimestamp))[0];
}
