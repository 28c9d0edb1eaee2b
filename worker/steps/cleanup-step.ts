/**
 * The cleanup step: deletes a job's intermediates under `<output>.upscale/<job-id>/`. The operator
 * runs it (as a short Job with the job's own storage Secret) when an UpscaleJob is deleted before it
 * finished. Idempotent: a second run finds nothing and succeeds. The final output is never touched.
 */
import type { Logger } from 'pino';
import { inStep } from '../errors.ts';
import { jobLayout } from '../storage/job-layout.ts';
import type { Storage } from '../storage/storage.ts';
import type { CleanupTask } from '../task.ts';

export interface CleanupStepResult {
  step: 'cleanup';
  jobId: string;
  /** Objects (or files) deleted. */
  removed: number;
}

/** Runs the cleanup step; errors are UpscaleErrors in step `cleanup`. */
export async function runCleanupStep(task: CleanupTask, storage: Storage, log: Logger): Promise<CleanupStepResult> {
  try {
    const layout = jobLayout(task.output, task.jobId);
    const removed = await storage.deletePrefix(layout.prefix);
    log.info({ job: task.jobId, prefix: layout.prefix, removed }, 'Deleted intermediates');
    return { step: 'cleanup', jobId: task.jobId, removed };
  } catch (error) {
    throw inStep(error, 'cleanup');
  }
}
