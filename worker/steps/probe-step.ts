/**
 * The probe step: probe the input, fix the shard plan, and store both under the job prefix.
 *
 * It fails before any work when the final output already exists (unless `overwrite`), so a cluster
 * job never spends GPU time on an output it may not write. Rerunning it reuses an existing plan, but
 * only while the job's recorded identity (job-identity.ts) still matches the source and model: a
 * source replaced under the same name (or another model) makes the intermediates stale, and the
 * step then deletes them and starts afresh (`upscale run`) or fails permanently (a pod: the
 * operator's job was made for the old source and may have shards running).
 */
import type { Logger } from 'pino';
import { findModel } from '../../models/catalogue.ts';
import { UpscaleError, inStep } from '../errors.ts';
import { probe, probeSummary } from '../media/probe.ts';
import { probeSchema, type Probe } from '../media/probe-schema.ts';
import { selectSegment, TASK_SEGMENT_NAMES, type FrameSpan, type SegmentOptionNames } from '../media/segment.ts';
import { planShards } from '../shard-plan.ts';
import { jobLayout, type JobLayout } from '../storage/job-layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { ProbeTask } from '../task.ts';
import { validateCustomModel } from './engine-options.ts';
import { currentIdentity, identityChange, jobIdentitySchema, type JobIdentity } from './job-identity.ts';
import { planCoversExactly, planFileSchema, planSpan, toPlanFile, type PlanFile } from './plan-file.ts';
import { probeStepResult, type ProbeStepResult } from './probe-result.ts';

export type { ProbeStepResult } from './probe-result.ts';

export interface ProbeStepOutput {
  result: ProbeStepResult;
  probe: Probe;
  plan: PlanFile;
}

export interface ProbeStepOptions {
  /**
   * What to do with intermediates made from another source or model: `restart` deletes them and
   * starts the job afresh (the local driver), `fail` (default) throws a permanent
   * `VerificationFailed` (a cluster pod).
   */
  onStale?: 'restart' | 'fail';
  /** How messages name the segment's options (default the task fields, `segment.start`...). */
  segmentNames?: SegmentOptionNames;
}

/** Runs the probe step; errors are {@link UpscaleError}s in step `probe`. */
export async function runProbeStep(task: ProbeTask, storage: Storage, log: Logger, options: ProbeStepOptions = {}): Promise<ProbeStepOutput> {
  try {
    return await probeStep(task, storage, log, options);
  } catch (error) {
    throw inStep(error, 'probe');
  }
}

async function probeStep(task: ProbeTask, storage: Storage, log: Logger, options: ProbeStepOptions): Promise<ProbeStepOutput> {
  const layout = jobLayout(task.output, task.jobId);
  if (!task.overwrite && (await storage.exists(task.output))) {
    throw new UpscaleError('AlreadyExists', `output ${task.output} already exists (pass overwrite to replace it)`, {
      subject: task.output,
    });
  }
  if (task.plan.model !== undefined) await validateCustomModel(task.plan.model, storage);
  const identity = await checkIdentity(task, storage, layout, log, options.onStale ?? 'fail');

  let doc: Probe | undefined;
  if (await storage.exists(layout.probe)) doc = await storage.readJson(layout.probe, probeSchema);
  const reusedProbe = doc !== undefined;
  if (doc === undefined) {
    const source = await storage.mediaSource(task.input);
    try {
      doc = await probe(source.url, { name: source.display, limits: task.limits, log });
    } finally {
      source.release();
    }
  }
  // A segment that selects nothing is refused before anything is written.
  const span: FrameSpan = task.segment === undefined ? { first: 0, end: doc.video.frameCount } : selectSegment(doc.frames, doc.video.timeBase, task.segment, options.segmentNames ?? TASK_SEGMENT_NAMES);
  // Only once the input probed well (a bad input leaves no prefix), and before probe.json.
  if (identity.record) await storage.writeJson(layout.identity, identity.current, { overwrite: true });
  if (!reusedProbe) await storage.writeJson(layout.probe, doc, { overwrite: true });

  let plan: PlanFile | undefined;
  if (await storage.exists(layout.plan)) {
    const existing = await storage.readJson(layout.plan, planFileSchema);
    if (existing.frameCount !== doc.video.frameCount || !planCoversExactly(existing)) log.warn({ job: task.jobId, plan: layout.plan }, 'Replaced a shard plan that did not match the probe');
    else plan = await sameSegment(existing, span, task, storage, layout, log);
  }
  const wanted = (): PlanFile => toPlanFile(doc.video.frameCount, planShards({ frameCount: span.end - span.first, ...planOptionsFor(task.plan, doc.video) }), span);
  if (plan !== undefined && task.plan.shardFrames !== undefined) plan = await keptOrReplanned(plan, wanted(), task, storage, layout, log);
  const reused = reusedProbe && plan !== undefined;
  if (plan === undefined) {
    plan = wanted();
    await storage.writeJson(layout.plan, plan, { overwrite: true });
  }
  log.info({ job: task.jobId, frames: plan.frameCount, shards: plan.shards.length, reused }, 'Planned shards');
  return {
    probe: doc,
    plan,
    result: probeStepResult(task.jobId, plan, reused, probeSummary(doc)),
  };
}

/**
 * An earlier run's plan for another segment: replaced (undefined) while none of its shards is done;
 * once one is, the job's shards and the new segment disagree, and the step refuses.
 * @throws UpscaleError `InvalidArgument` naming both frame ranges
 */
async function sameSegment(existing: PlanFile, span: FrameSpan, task: ProbeTask, storage: Storage, layout: JobLayout, log: Logger): Promise<PlanFile | undefined> {
  const had = planSpan(existing);
  if (had.first === span.first && had.end === span.end) return existing;
  const done = (await Promise.all(existing.shards.map((_, i) => storage.exists(layout.shardManifest(i))))).filter(Boolean).length;
  const fields = { job: task.jobId, planned: [had.first, had.end], wanted: [span.first, span.end], doneShards: done };
  if (done === 0) {
    log.info(fields, 'Replaced the shard plan of an earlier run for another segment that had finished no shard');
    return undefined;
  }
  throw new UpscaleError(
    'InvalidArgument',
    `segment: job ${task.jobId} was planned for frames [${had.first},${had.end}) and has ${done} of ${existing.shards.length} shards done; the segment now selects [${span.first},${span.end}): use a new job id or delete ${layout.prefix}`,
    { subject: 'segment' },
  );
}

/**
 * An earlier run's plan against an explicit `shardFrames` that would plan differently: while no shard
 * is done the plan is replaced (returns undefined: plan afresh); once one is, the finished shards are
 * worth more than the new size, so the old plan is kept, with a warning that says so.
 */
async function keptOrReplanned(existing: PlanFile, wanted: PlanFile, task: ProbeTask, storage: Storage, layout: JobLayout, log: Logger): Promise<PlanFile | undefined> {
  if (JSON.stringify(existing.shards) === JSON.stringify(wanted.shards)) return existing;
  const done = (await Promise.all(existing.shards.map((_, i) => storage.exists(layout.shardManifest(i))))).filter(Boolean).length;
  const fields = { job: task.jobId, shardFrames: task.plan.shardFrames, shards: existing.shards.length, wantedShards: wanted.shards.length, doneShards: done };
  if (done === 0) {
    log.info(fields, 'Replaced the shard plan of an earlier run that had finished no shard');
    return undefined;
  }
  log.warn(
    { ...fields, prefix: layout.prefix },
    `Kept the shard plan of an earlier run (${done} of ${existing.shards.length} shards done): the new shard size applies to a fresh job; delete the prefix to start over`,
  );
  return existing;
}

/**
 * Checks the job's recorded identity against the source and model now: on a mismatch the stale
 * intermediates are deleted (`restart`) or the step fails (`fail`). Returns the current identity and
 * whether it must be recorded (a fresh prefix). It is written before probe.json, so intermediates
 * without an identity are from an older worker, and just as untrustworthy.
 */
async function checkIdentity(
  task: ProbeTask,
  storage: Storage,
  layout: JobLayout,
  log: Logger,
  onStale: 'restart' | 'fail',
): Promise<{ current: JobIdentity; record: boolean }> {
  const current = await currentIdentity(storage, task.input, task.plan.model);
  const stale = await staleReason(storage, layout, current);
  if (stale === 'matches') return { current, record: false };
  if (stale !== undefined) {
    if (onStale === 'fail') {
      throw new UpscaleError('VerificationFailed', `${stale}: the intermediates under ${layout.prefix} belong to an earlier job; start a new job or delete them`, {
        subject: layout.prefix,
      });
    }
    const removed = await storage.deletePrefix(layout.prefix);
    log.warn({ job: task.jobId, prefix: layout.prefix, reason: stale, removed }, 'Deleted stale job intermediates and started afresh');
  }
  return { current, record: true };
}

/** `matches`, undefined for a fresh prefix, else why its contents cannot be reused. */
async function staleReason(storage: Storage, layout: JobLayout, current: JobIdentity): Promise<string | undefined> {
  let recorded: JobIdentity | undefined;
  try {
    if (await storage.exists(layout.identity)) recorded = await storage.readJson(layout.identity, jobIdentitySchema);
  } catch (error) {
    if (error instanceof UpscaleError && error.code === 'InvalidInput') return error.message;
    throw error;
  }
  if (recorded !== undefined) return identityChange(recorded, current)?.reason ?? 'matches';
  if ((await storage.list(layout.prefix)).length > 0) return `${layout.prefix} holds intermediates but no ${layout.identity}, so they cannot be matched to the source`;
  return undefined;
}

/**
 * The planner's options for a probed video: the task's overrides, and the expected frames/s of a
 * worker when the task gives its throughput and a catalogue model.
 */
export function planOptionsFor(plan: ProbeTask['plan'], frame: { displayWidth: number; displayHeight: number }): { workers: number; shardFrames?: number; shardCount?: number; framesPerSecond?: number } {
  const out: { workers: number; shardFrames?: number; shardCount?: number; framesPerSecond?: number } = { workers: plan.workers };
  if (plan.shardFrames !== undefined) out.shardFrames = plan.shardFrames;
  if (plan.shardCount !== undefined) out.shardCount = plan.shardCount;
  const model = plan.model === undefined ? undefined : findModel(plan.model);
  if (plan.workerGflops !== undefined && model !== undefined) {
    const flopsPerFrame = model.flopsPerInputPixel * frame.displayWidth * frame.displayHeight;
    out.framesPerSecond = (plan.workerGflops * 1e9) / flopsPerFrame;
  }
  return out;
}
