import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry, register as globalRegistry } from 'prom-client';
import { RECONCILE_TIME_BUCKETS, createControllerMetrics, initControllerMetrics, observeReconcile, workqueueMetrics } from './metrics.ts';
import { WorkQueue } from './workqueue.ts';

/** The exposition lines of `registry` that start with `prefix` (comments left out). */
async function lines(registry: Registry, prefix: string): Promise<string[]> {
  return (await registry.metrics()).split('\n').filter((l) => l.startsWith(prefix));
}

test('all controller-runtime metric names are registered in the given registry only', async () => {
  const registry = new Registry();
  createControllerMetrics(registry);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
  assert.deepEqual(names, [
    'controller_runtime_active_workers',
    'controller_runtime_max_concurrent_reconciles',
    'controller_runtime_reconcile_errors_total',
    'controller_runtime_reconcile_time_seconds',
    'controller_runtime_reconcile_total',
    'workqueue_adds_total',
    'workqueue_depth',
    'workqueue_queue_duration_seconds',
    'workqueue_retries_total',
    'workqueue_work_duration_seconds',
  ]);
  assert.equal(globalRegistry.getSingleMetric('controller_runtime_reconcile_total'), undefined);
  // A second registry gets its own set without a name clash.
  createControllerMetrics(new Registry());
});

test('a started controller shows every result at zero and its worker gauges', async () => {
  const registry = new Registry();
  const m = createControllerMetrics(registry);
  initControllerMetrics(m, 'upscalejob', 4);
  assert.deepEqual((await lines(registry, 'controller_runtime_reconcile_total')).sort(), [
    'controller_runtime_reconcile_total{controller="upscalejob",result="error"} 0',
    'controller_runtime_reconcile_total{controller="upscalejob",result="requeue"} 0',
    'controller_runtime_reconcile_total{controller="upscalejob",result="requeue_after"} 0',
    'controller_runtime_reconcile_total{controller="upscalejob",result="success"} 0',
  ]);
  assert.deepEqual(await lines(registry, 'controller_runtime_max_concurrent_reconciles'), ['controller_runtime_max_concurrent_reconciles{controller="upscalejob"} 4']);
  assert.deepEqual(await lines(registry, 'controller_runtime_active_workers'), ['controller_runtime_active_workers{controller="upscalejob"} 0']);
  assert.deepEqual(await lines(registry, 'controller_runtime_reconcile_errors_total'), ['controller_runtime_reconcile_errors_total{controller="upscalejob"} 0']);
});

test('an errored reconcile counts in total{result=error}, in errors_total and in the histogram', async () => {
  const registry = new Registry();
  const m = createControllerMetrics(registry);
  observeReconcile(m, 'c', 'error', 0.02);
  observeReconcile(m, 'c', 'requeue_after', 3);
  assert.ok((await lines(registry, 'controller_runtime_reconcile_total')).includes('controller_runtime_reconcile_total{controller="c",result="error"} 1'));
  assert.deepEqual(await lines(registry, 'controller_runtime_reconcile_errors_total'), ['controller_runtime_reconcile_errors_total{controller="c"} 1']);
  const hist = await lines(registry, 'controller_runtime_reconcile_time_seconds');
  assert.ok(hist.includes('controller_runtime_reconcile_time_seconds_bucket{le="0.025",controller="c"} 1'));
  assert.ok(hist.includes('controller_runtime_reconcile_time_seconds_bucket{le="60",controller="c"} 2'));
  assert.ok(hist.includes('controller_runtime_reconcile_time_seconds_count{controller="c"} 2'));
  assert.equal(hist.filter((l) => l.includes('_bucket')).length, RECONCILE_TIME_BUCKETS.length + 1); // + le="+Inf"
  assert.equal(RECONCILE_TIME_BUCKETS[0], 0.005);
  assert.equal(RECONCILE_TIME_BUCKETS.at(-1), 60);
});

test('a real work queue reports through the adapter under name and controller labels', async () => {
  const registry = new Registry();
  const m = createControllerMetrics(registry);
  let clock = 0;
  const q = new WorkQueue({ metrics: workqueueMetrics(m, 'upscalejob'), now: () => clock });
  assert.deepEqual(await lines(registry, 'workqueue_adds_total'), [`workqueue_adds_total{name="upscalejob",controller="upscalejob"} 0`]);
  q.add('ns/a');
  q.add('ns/a');
  q.add('ns/b');
  assert.deepEqual(await lines(registry, 'workqueue_depth'), ['workqueue_depth{name="upscalejob",controller="upscalejob",priority=""} 2']);
  clock = 1500;
  const key = await q.get();
  clock = 1600;
  q.done(key as string);
  q.addRateLimited('ns/c');
  q.shutDown();
  assert.deepEqual(await lines(registry, 'workqueue_adds_total'), [`workqueue_adds_total{name="upscalejob",controller="upscalejob"} 2`]);
  assert.deepEqual(await lines(registry, 'workqueue_retries_total'), [`workqueue_retries_total{name="upscalejob",controller="upscalejob"} 1`]);
  assert.deepEqual(await lines(registry, 'workqueue_depth'), ['workqueue_depth{name="upscalejob",controller="upscalejob",priority=""} 1']);
  const queued = await lines(registry, 'workqueue_queue_duration_seconds_sum');
  assert.deepEqual(queued, [`workqueue_queue_duration_seconds_sum{name="upscalejob",controller="upscalejob"} 1.5`]);
  const worked = await lines(registry, 'workqueue_work_duration_seconds_sum');
  assert.equal(worked.length, 1);
  assert.match(worked[0] ?? '', /} 0\.1\d*$/);
  // Buckets span client-go's 10 ns … 1000 s.
  const buckets = await lines(registry, 'workqueue_work_duration_seconds_bucket');
  assert.equal(buckets.length, 13);
  assert.ok(buckets[0]?.startsWith('workqueue_work_duration_seconds_bucket{le="1e-8"'), buckets[0]);
  assert.ok(buckets[11]?.startsWith('workqueue_work_duration_seconds_bucket{le="1000"'), buckets[11]);
});
