/**
 * Domain metrics of the UpscaleJobs the operator watches, computed at scrape time from the
 * informer cache (so they are right after a restart or a leader hand-over, with no state of
 * their own): jobs by phase, frames done and per second, shards done and failed; and the
 * duration of each job that finished while this process watched, as a histogram.
 */
import { Gauge, Histogram, type Registry } from 'prom-client';
import { PHASES, type UpscaleJobStatus } from '../api/upscalejob.ts';

/** What the gauges read: the cached UpscaleJobs' statuses. */
export type StatusSource = () => ReadonlyArray<{ metadata?: { namespace?: string; name?: string }; status?: UpscaleJobStatus }>;

export interface JobMetrics {
  /** Records a job that reached Succeeded or Failed (seconds from start to completion). */
  observeFinished(phase: 'Succeeded' | 'Failed', seconds: number): void;
}

/** Registers the domain metrics in `registry`, reading `source` on every scrape. */
export function createJobMetrics(registry: Registry, source: StatusSource): JobMetrics {
  const registers = [registry];
  new Gauge({
    name: 'upscale_operator_jobs',
    help: 'UpscaleJobs by phase',
    labelNames: ['phase'],
    registers,
    collect() {
      this.reset();
      const counts = new Map<string, number>(PHASES.map((p) => [p, 0]));
      for (const job of source()) {
        const phase = job.status?.phase ?? 'Pending';
        counts.set(phase, (counts.get(phase) ?? 0) + 1);
      }
      for (const [phase, n] of counts) this.set({ phase }, n);
    },
  });
  new Gauge({
    name: 'upscale_operator_job_frames_done',
    help: 'Frames upscaled so far, per UpscaleJob',
    labelNames: ['namespace', 'upscalejob'],
    registers,
    collect() {
      this.reset();
      for (const job of source()) this.set(labels(job), job.status?.frames?.done ?? 0);
    },
  });
  new Gauge({
    name: 'upscale_operator_job_frames_total',
    help: 'Frames of the source, per UpscaleJob (0 until probed)',
    labelNames: ['namespace', 'upscalejob'],
    registers,
    collect() {
      this.reset();
      for (const job of source()) this.set(labels(job), job.status?.frames?.total ?? 0);
    },
  });
  new Gauge({
    name: 'upscale_operator_job_frames_per_second',
    help: 'Frames upscaled per second over the running time of the shards, per running UpscaleJob',
    labelNames: ['namespace', 'upscalejob'],
    registers,
    collect() {
      this.reset();
      for (const job of source()) {
        if (job.status?.phase !== 'Running') continue;
        const fps = Number(job.status.fps ?? 0);
        this.set(labels(job), Number.isFinite(fps) ? fps : 0);
      }
    },
  });
  new Gauge({
    name: 'upscale_operator_job_shard_failures',
    help: 'Failed shard pods (retries used), per UpscaleJob',
    labelNames: ['namespace', 'upscalejob'],
    registers,
    collect() {
      this.reset();
      for (const job of source()) this.set(labels(job), job.status?.shards?.failed ?? 0);
    },
  });
  const duration = new Histogram({
    name: 'upscale_operator_job_duration_seconds',
    help: 'Time from start to completion of UpscaleJobs that finished while this operator watched',
    labelNames: ['phase'],
    buckets: [30, 60, 300, 900, 1800, 3600, 7200, 14_400, 28_800, 86_400],
    registers,
  });
  return { observeFinished: (phase, seconds) => duration.observe({ phase }, seconds) };
}

function labels(job: { metadata?: { namespace?: string; name?: string } }): { namespace: string; upscalejob: string } {
  return { namespace: job.metadata?.namespace ?? '', upscalejob: job.metadata?.name ?? '' };
}
