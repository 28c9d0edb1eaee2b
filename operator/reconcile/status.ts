/**
 * Status helpers: kstatus-style conditions that keep their transition time while unchanged, and the
 * human forms of rates and durations shown by `kubectl get upscalejobs`.
 */
import type { Condition, Phase, UpscaleJobStatus } from '../api/upscalejob.ts';

export interface ConditionInput {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

/**
 * The kstatus conditions of a phase: Ready and Complete true once Succeeded, Failed and Suspended
 * true in those phases, each with a stable reason and a message.
 */
export function phaseConditions(phase: Phase, reason: string, message: string): ConditionInput[] {
  return [
    { type: 'Ready', status: phase === 'Succeeded' ? 'True' : 'False', reason, message },
    { type: 'Complete', status: phase === 'Succeeded' ? 'True' : 'False', reason: phase === 'Succeeded' ? 'Succeeded' : 'NotComplete', message: phase === 'Succeeded' ? message : 'the job has not finished' },
    { type: 'Failed', status: phase === 'Failed' ? 'True' : 'False', reason: phase === 'Failed' ? reason : 'NotFailed', message: phase === 'Failed' ? message : 'no step has failed' },
    { type: 'Suspended', status: phase === 'Suspended' ? 'True' : 'False', reason: phase === 'Suspended' ? 'Suspended' : 'NotSuspended', message: phase === 'Suspended' ? message : 'the job is not suspended' },
  ];
}

/** Sets conditions, keeping `lastTransitionTime` of those whose status did not change. */
export function mergeConditions(previous: readonly Condition[] | undefined, next: readonly ConditionInput[], now: Date, generation: number | undefined): Condition[] {
  return next.map((c) => {
    const before = previous?.find((p) => p.type === c.type);
    const since = before !== undefined && before.status === c.status && before.lastTransitionTime !== undefined ? before.lastTransitionTime : now.toISOString();
    const out: Condition = { type: c.type, status: c.status, reason: c.reason, message: c.message, lastTransitionTime: since };
    if (generation !== undefined) out.observedGeneration = generation;
    return out;
  });
}

/** `3m20s`, `1h02m`, `45s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(s / 3600);
  if (h < 48) return `${h}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d${String(h % 24).padStart(2, '0')}h`;
}

/** Frames per second with sensible precision (`12.3`, `0.26`). */
export function formatRate(fps: number): string {
  if (!Number.isFinite(fps) || fps <= 0) return '0';
  return fps >= 10 ? fps.toFixed(1) : fps.toPrecision(2);
}

/** The fields that only move progress along: written at a bounded rate. */
const PROGRESS_FIELDS = ['progress', 'frames', 'shards', 'fps', 'eta'] as const;

/**
 * What must reach the API server at once: everything but progress and the human messages (the
 * job's and its conditions'), which follow the counts ("412 of 1000 shards done") and would
 * otherwise cost a write per finished shard.
 */
function significant(status: UpscaleJobStatus | undefined): unknown {
  if (status === undefined) return undefined;
  const copy: Record<string, unknown> = { ...status };
  for (const field of PROGRESS_FIELDS) delete copy[field];
  delete copy['message'];
  if (status.conditions !== undefined) copy['conditions'] = status.conditions.map(({ message: _message, ...rest }) => rest);
  return copy;
}

/**
 * Whether to write `next` now: a change of phase, reason, condition status or any other
 * non-progress field is written at once; a change of only progress or messages waits until
 * `intervalMs` after the last write (so a job's status costs at most one write per interval
 * while it runs, however many shards finish).
 * Returns 0 to write now, a positive delay to write later, or undefined when nothing changed.
 */
export function statusWriteDelay(current: UpscaleJobStatus | undefined, next: UpscaleJobStatus, lastWriteMs: number | undefined, nowMs: number, intervalMs: number): number | undefined {
  if (same(current, next)) return undefined;
  if (!same(significant(current), significant(next))) return 0;
  if (lastWriteMs === undefined) return 0;
  const wait = lastWriteMs + intervalMs - nowMs;
  return wait <= 0 ? 0 : wait;
}

/** Structural equality of JSON-like values (key order ignored). */
export function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => [k, canonical(v)]),
    );
  }
  return value;
}
