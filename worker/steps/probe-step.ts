/**
 * The probe step: probe the input, fix the shard plan, and store both under the job prefix.
 *
 * It fails before any work when the final output already exists (unless `overwrite`), so a cluster
 * job never spends GPU time on an output it may not write. Rerunning it reuses an existing plan.
 */
import type { Logger } from 'pino';
import { findModel } from '../../models/catalogue.ts';
import { UpscaleError, inStep } from '../errors.ts';
import { probe, probeSummary } from '../media/probe.ts';
import { probeSchema, type Probe } from '../media/probe-schema.ts';
import { planShards } from '../shard-plan.ts';
import { jobLayout } from '../storage/job-layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { ProbeTask } from '../task.ts';
import { planCoversExactly, planFileSchema, toPlanFile, type PlanFile } from './plan-file.ts';
import { probeStepResult, type ProbeStepResult } from './probe-result.ts';

export type { ProbeStepResult } from './probe-result.ts';

export interface ProbeStepOutput {
  result: ProbeStepResult;
  probe: Probe;
  plan: PlanFile;
}

/** Runs the probe step; errors are {@link UpscaleError}s in step `probe`. */
export async function runProbeStep(task: ProbeTask, storage: Storage, log: Logger): Promise<ProbeStepOutput> {
  try {
    return await probeStep(task, storage, log);
  } catch (error) {
    throw inStep(error, 'probe');
  }
}

async function probeStep(task: ProbeTask, storage: Storage, log: Logger): Promise<ProbeStepOutput> {
  const layout = jobLayout(task.output, task.jobId);
  if (!task.overwrite && (await storage.exists(task.output))) {
    throw new UpscaleError('AlreadyExists', `output ${task.output} already exists (pass overwrite to replace it)`, {
      subject: task.output,
    });
  }

  let doc: Probe | undefined;
  if (await storage.exists(layout.probe)) doc = await storage.readJson(layout.probe, probeSchema);
  const reusedProbe = doc !== undefined;
  if (doc === undefined) {
    const source = await storage.mediaSource(task.input);
    doc = await probe(source.url, { name: source.display, log });
    await storage.writeJson(layout.probe, doc, { overwrite: true });
  }

  let plan: PlanFile | undefined;
  if (await storage.exists(layout.plan)) {
    const existing = await storage.readJson(layout.plan, planFileSchema);
    if (existing.frameCount === doc.video.frameCount && planCoversExactly(existing)) plan = existing;
    else log.warn({ job: task.jobId, plan: layout.plan }, 'Replaced a shard plan that did not match the probe');
  }
  const reused = reusedProbe && plan !== undefined;
  if (plan === undefined) {
    const ranges = planShards({ frameCount: doc.video.frameCount, ...planOptionsFor(task.plan, doc.video) });
    plan = toPlanFile(doc.video.frameCount, ranges);
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
