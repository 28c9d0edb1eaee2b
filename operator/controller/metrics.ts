/**
 * The controller's Prometheus metrics, under controller-runtime's names, labels, help texts and
 * buckets (v0.24: `pkg/internal/controller/metrics/metrics.go`, `pkg/metrics/workqueue.go`), so
 * dashboards and alerts written for Go operators work unchanged.
 *
 * Everything registers in a registry the caller creates, never prom-client's global one, so tests
 * and several controllers in one process cannot collide.
 */
import { Counter, Gauge, Histogram, exponentialBuckets, type Registry } from 'prom-client';
import type { QueueMetrics } from './workqueue.ts';

/** How one reconcile ended, as the `result` label of `controller_runtime_reconcile_total`. */
export type ReconcileResult = 'success' | 'error' | 'requeue' | 'requeue_after';

export const RECONCILE_RESULTS: readonly ReconcileResult[] = ['success', 'error', 'requeue', 'requeue_after'];

/** controller-runtime's buckets for `controller_runtime_reconcile_time_seconds`. */
export const RECONCILE_TIME_BUCKETS: readonly number[] = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5,
  5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];

/** client-go's workqueue duration buckets: `ExponentialBuckets(10e-9, 10, 12)`, 10 ns … 1000 s. */
const WORKQUEUE_BUCKETS = exponentialBuckets(10e-9, 10, 12);

/** The metric objects, for the controller to record into. */
export interface ControllerMetrics {
  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;
  readonly workqueueDepth: Gauge<'name' | 'controller' | 'priority'>;
  readonly workqueueAdds: Counter<'name' | 'controller'>;
  readonly workqueueRetries: Counter<'name' | 'controller'>;
  readonly workqueueQueueDuration: Histogram<'name' | 'controller'>;
  readonly workqueueWorkDuration: Histogram<'name' | 'controller'>;
}

/**
 * Creates the controller and workqueue metrics in `registry`. Call it once per registry
 * (prom-client refuses a second metric of the same name); share the result between controllers.
 */
export function createControllerMetrics(registry: Registry): ControllerMetrics {
  const registers = [registry];
  const queueLabels = ['name', 'controller'] as const;
  return {
    reconcileTotal: new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    }),
    reconcileErrors: new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    }),
    reconcileTime: new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: [...RECONCILE_TIME_BUCKETS],
      registers,
    }),
    maxConcurrentReconciles: new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    }),
    activeWorkers: new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    }),
    // controller-runtime labels depth with a priority too; a plain queue sets it to "", which
    // Prometheus treats as no label, so the series is workqueue_depth{name,controller}.
    workqueueDepth: new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue by workqueue and priority',
      labelNames: ['name', 'controller', 'priority'],
      registers,
    }),
    workqueueAdds: new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: queueLabels,
      registers,
    }),
    workqueueRetries: new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: queueLabels,
      registers,
    }),
    workqueueQueueDuration: new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    }),
    workqueueWorkDuration: new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes.',
      labelNames: queueLabels,
      buckets: WORKQUEUE_BUCKETS,
      registers,
    }),
  };
}

/**
 * Sets up the series of one controller the way controller-runtime does at start: every result of
 * `reconcile_total` and the error counter exist at 0 (so `rate()` works before the first error),
 * and the worker gauges are set.
 */
export function initControllerMetrics(m: ControllerMetrics, controller: string, maxConcurrentReconciles: number): void {
  for (const result of RECONCILE_RESULTS) m.reconcileTotal.inc({ controller, result }, 0);
  m.reconcileErrors.inc({ controller }, 0);
  m.maxConcurrentReconciles.set({ controller }, maxConcurrentReconciles);
  m.activeWorkers.set({ controller }, 0);
}

/** Records one finished reconcile: its result, its duration, and an error if it failed. */
export function observeReconcile(m: ControllerMetrics, controller: string, result: ReconcileResult, seconds: number): void {
  m.reconcileTotal.inc({ controller, result });
  if (result === 'error') m.reconcileErrors.inc({ controller });
  m.reconcileTime.observe({ controller }, seconds);
}

/**
 * The {@link QueueMetrics} of a controller's work queue; `name` and `controller` are both the
 * controller's name, as in controller-runtime.
 */
export function workqueueMetrics(m: ControllerMetrics, controller: string): QueueMetrics {
  const labels = { name: controller, controller };
  const depth = m.workqueueDepth.labels({ ...labels, priority: '' });
  const adds = m.workqueueAdds.labels(labels);
  const retries = m.workqueueRetries.labels(labels);
  const queueDuration = m.workqueueQueueDuration.labels(labels);
  const workDuration = m.workqueueWorkDuration.labels(labels);
  // Create every series at once, so a scrape shows 0 rather than nothing before the first add.
  depth.set(0);
  adds.inc(0);
  retries.inc(0);
  return {
    add: () => adds.inc(),
    depth: (n) => depth.set(n),
    queueDuration: (s) => queueDuration.observe(s),
    workDuration: (s) => workDuration.observe(s),
    retry: () => retries.inc(),
  };
}
