/**
 * What the operator learns from its pods' termination messages (the worker's one-line JSON
 * result, bin/result.ts): the probe's plan summary, and a failed step's own error message. This is
 * how the operator knows the plan without holding storage credentials.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { z } from 'zod';
import { WORKER_CONTAINER } from './job-specs.ts';
import { shardCount } from './indexes.ts';

/** The part of the probe's result the operator keeps (on the shard Job, as an annotation). */
export interface PlanSummary {
  frames: number;
  shards: number;
  /** Shard sizes in plan order as `[frames, count]` runs; absent when the plan was too long to send. */
  shardFrames?: Array<[number, number]>;
  width?: number;
  height?: number;
  fps?: number;
  /** Bits per sample of the source video: over 8 gets the deep default codec (HEVC Main 10). */
  bitDepth?: number;
}

const probeMessageSchema = z.object({
  ok: z.literal(true),
  step: z.literal('probe'),
  shards: z.int().min(1),
  summary: z.object({ frames: z.int().min(1), width: z.number().optional(), height: z.number().optional(), fps: z.number().optional(), bitDepth: z.number().optional() }).loose(),
  shardFrames: z.array(z.tuple([z.int().min(1), z.int().min(1)])).optional(),
}).loose();

const failureMessageSchema = z.object({
  ok: z.literal(false),
  step: z.string().optional(),
  code: z.string().optional(),
  kind: z.string().optional(),
  message: z.string(),
}).loose();

export const planSummarySchema = z.object({
  frames: z.int().min(1),
  shards: z.int().min(1),
  shardFrames: z.array(z.tuple([z.int().min(1), z.int().min(1)])).optional(),
  width: z.number().optional(),
  height: z.number().optional(),
  fps: z.number().optional(),
  bitDepth: z.number().optional(),
});

/** The worker container's termination message of a pod, if it has one. */
export function terminationMessage(pod: V1Pod): string | undefined {
  const status = pod.status?.containerStatuses?.find((c) => c.name === WORKER_CONTAINER);
  const message = status?.state?.terminated?.message ?? status?.lastState?.terminated?.message;
  return message === undefined || message === '' ? undefined : message;
}

function json(text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text.trim());
  } catch {
    return undefined;
  }
}

/** The plan summary from a succeeded probe pod's termination message. */
export function planFromMessage(text: string | undefined): PlanSummary | undefined {
  const parsed = probeMessageSchema.safeParse(json(text));
  if (!parsed.success) return undefined;
  const { shards, summary, shardFrames } = parsed.data;
  const plan: PlanSummary = { frames: summary.frames, shards };
  // Runs that do not add up to the plan are ignored rather than trusted.
  if (shardFrames !== undefined && shardCount(shardFrames) === shards) plan.shardFrames = shardFrames;
  if (summary.width !== undefined) plan.width = summary.width;
  if (summary.height !== undefined) plan.height = summary.height;
  if (summary.fps !== undefined) plan.fps = summary.fps;
  if (summary.bitDepth !== undefined) plan.bitDepth = summary.bitDepth;
  return plan;
}

/** The plan summary stored on the shard Job's annotation. */
export function planFromAnnotation(text: string | undefined): PlanSummary | undefined {
  const parsed = planSummarySchema.safeParse(json(text));
  if (!parsed.success) return undefined;
  const { shardFrames, width, height, fps, bitDepth, ...rest } = parsed.data;
  const plan: PlanSummary = { ...rest };
  if (shardFrames !== undefined) plan.shardFrames = shardFrames;
  if (width !== undefined) plan.width = width;
  if (height !== undefined) plan.height = height;
  if (fps !== undefined) plan.fps = fps;
  if (bitDepth !== undefined) plan.bitDepth = bitDepth;
  return plan;
}

/**
 * A failed step's own error message (the worker's `{ok: false, message}` result), or the tail of its
 * log when the worker died before writing one (`FallbackToLogsOnError`).
 */
export function failureFromMessage(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const parsed = failureMessageSchema.safeParse(json(text));
  if (parsed.success) return parsed.data.message;
  const lines = text.trim().split('\n');
  return lines.slice(-3).join(' | ').slice(0, 1000);
}
