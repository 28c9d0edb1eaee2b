/**
 * `upscale probe|shard|assemble`: one step of a job from a JSON task (`--task`, `--task-file`),
 * with a few flags that override task fields. This is what the cluster's pods run.
 */
import { readFile } from 'node:fs/promises';
import pino from 'pino';
import { UpscaleError } from '../worker/errors.ts';
import { requireSupportedFfmpeg } from '../worker/media/ffmpeg-check.ts';
import { runAssembleStep } from '../worker/steps/assemble-step.ts';
import { runCleanupStep } from '../worker/steps/cleanup-step.ts';
import { runProbeStep } from '../worker/steps/probe-step.ts';
import { runShardStep } from '../worker/steps/shard-step.ts';
import { Storage } from '../worker/storage/storage.ts';
import { TASK_VERSION, assembleTaskSchema, cleanupTaskSchema, parseTask, probeTaskSchema, shardTaskSchema, type StepName } from '../worker/task.ts';
import { failureToReport, handleInterrupts } from './interrupt.ts';
import { emitFailure, emitResult } from './result.ts';

export interface StepFlags {
  task?: string;
  taskFile?: string;
  jobId?: string;
  input?: string;
  output?: string;
  shard?: number;
  resultFile?: string;
  logLevel: string;
}

/** Runs the step and returns the process exit code. */
export async function runStepCommand(step: StepName, flags: StepFlags): Promise<number> {
  const log = pino({ level: flags.logLevel, base: { step } }, pino.destination(2));
  const storage = new Storage();
  const controller = new AbortController();
  const removeHandlers = handleInterrupts(controller, step);
  try {
    const raw = { version: TASK_VERSION, ...(await loadTask(flags)), ...overrides(flags), step };
    // Without a task only the override flags are there: say where the task goes, not just what is missing.
    const source = flags.taskFile ?? (flags.task !== undefined ? '--task' : 'flags (no task given: pass it with --task <json> or --task-file <path>)');
    // Cleanup only deletes objects; the other steps run ffmpeg/ffprobe.
    if (step !== 'cleanup') log.debug(await requireSupportedFfmpeg(), 'Checked ffmpeg version');
    let result: object;
    if (step === 'probe') result = (await runProbeStep(parseTask(probeTaskSchema, raw, source), storage, log)).result;
    else if (step === 'shard') result = await runShardStep(parseTask(shardTaskSchema, raw, source), storage, log, { signal: controller.signal });
    else if (step === 'assemble') result = await runAssembleStep(parseTask(assembleTaskSchema, raw, source), storage, log);
    else result = await runCleanupStep(parseTask(cleanupTaskSchema, raw, source), storage, log);
    await emitResult({ ok: true, ...result }, flags.resultFile);
    return 0;
  } catch (error) {
    return await emitFailure(await failureToReport(error, controller.signal), step, log, flags.resultFile, { resultLine: true });
  } finally {
    removeHandlers();
    storage.close();
  }
}

async function loadTask(flags: StepFlags): Promise<Record<string, unknown>> {
  if (flags.task !== undefined && flags.taskFile !== undefined) {
    throw new UpscaleError('InvalidArgument', 'give either --task or --task-file, not both', { subject: '--task' });
  }
  let text: string | undefined = flags.task;
  if (flags.taskFile !== undefined) {
    try {
      text = await readFile(flags.taskFile, 'utf8');
    } catch (cause) {
      throw new UpscaleError('InvalidArgument', `cannot read the task file ${flags.taskFile}: ${(cause as Error).message}`, { subject: flags.taskFile, cause });
    }
  }
  if (text === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new UpscaleError('InvalidArgument', `the task in ${flags.taskFile ?? '--task'} is not valid JSON`, { subject: flags.taskFile ?? '--task', cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UpscaleError('InvalidArgument', `the task in ${flags.taskFile ?? '--task'} is not a JSON object`, { subject: flags.taskFile ?? '--task' });
  }
  return value as Record<string, unknown>;
}

function overrides(flags: StepFlags): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (flags.jobId !== undefined) out['jobId'] = flags.jobId;
  if (flags.input !== undefined) out['input'] = flags.input;
  if (flags.output !== undefined) out['output'] = flags.output;
  if (flags.shard !== undefined) out['shard'] = flags.shard;
  return out;
}
