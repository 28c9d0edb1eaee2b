/**
 * Writes one pod's status to the API as a strategic merge patch. Writes coalesce (a change while
 * a write is in flight causes exactly one more write with the newest record), failed writes are
 * retried, and `flush` waits until the newest record is written.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../cluster-error.ts';
import type { Logger } from '../log.ts';
import type { PodApi } from './api.ts';
import { podConditions, statusPatch, type Condition, type PodRecord } from './pod-status.ts';

/** What a status writer needs. */
export interface StatusWriterOptions {
  api: PodApi;
  namespace: string;
  name: string;
  log: Logger;
  /** The current record, read at write time. */
  record: () => PodRecord;
  /** Called when the pod no longer exists (a write got 404). */
  onGone: () => void;
}

/** Coalescing status writer of one pod. */
export class StatusWriter {
  private readonly opts: StatusWriterOptions;
  private conditions: Condition[] = [];
  private dirty = false;
  private closed = false;
  private running: Promise<void> | undefined;

  constructor(opts: StatusWriterOptions) {
    this.opts = opts;
  }

  /** Schedules a write of the current record. */
  publish(): void {
    this.dirty = true;
    if (this.running || this.closed) return;
    this.running = this.loop();
  }

  /** Stops writing (the pod is gone or finally deleted). */
  close(): void {
    this.closed = true;
  }

  /** Resolves when no write is pending. */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async loop(): Promise<void> {
    // Yield first so `running` is assigned before the loop can finish and clear it.
    await Promise.resolve();
    const { api, namespace, name, log } = this.opts;
    try {
      while (this.dirty && !this.closed) {
        this.dirty = false;
        const record = this.opts.record();
        this.conditions = podConditions(record, this.conditions, new Date());
        try {
          log.debug({ pod: `${namespace}/${name}`, phase: record.phase }, 'Updating pod status');
          const exists = await api.patchPodStatus(namespace, name, statusPatch(record, this.conditions));
          if (!exists) this.opts.onGone();
        } catch (err) {
          log.warn({ pod: `${namespace}/${name}`, err: describeError(err) }, 'Failed to update pod status; retrying');
          this.dirty = true;
          await sleep(1000);
        }
      }
    } finally {
      // Cleared in the same turn the loop ends, so a publish() right after starts a new loop.
      this.running = undefined;
    }
  }
}
