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
  /** One series per UpscaleJob, re-read from the cache at each scrape; `value` undefined skips a job. */
  const perJob = (name: string, help: string, value: (status: UpscaleJobStatus | undefined) => number | undefined) =>
    new Gauge({
      name,
      help,
      labelNames: ['namespace', 'upscalejob'],
      registers,
      collect() {
        this.reset();
        for (const job of source()) {
          const v = value(job.status);
          if (v !== undefined) this.set(labels(job), v);
        }
      },
    });
  perJob('upscale_operator_job_frames_done', 'Frames upscaled so far, per UpscaleJob', (s) => s?.frames?.done ?? 0);
  perJob('upscale_operator_job_frames_total', 'Frames of the source, per UpscaleJob (0 until probed)', (s) => s?.frames?.total ?? 0);
  perJob('upscale_operator_job_frames_per_second', 'Frames upscaled per second over the running time of the shards, per running UpscaleJob', (s) => {
    if (s?.phase !== 'Running') return undefined;
    const fps = Number(s.fps ?? 0);
    return Number.isFinite(fps) ? fps : 0;
  });
  perJob('upscale_operator_job_shard_failures', 'Failed shard pods (retries used), per UpscaleJob', (s) => s?.shards?.failed ?? 0);
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
