import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import {
  EventCorrelator,
  EventRecorder,
  NOTE_MAX_BYTES,
  REPORTING_CONTROLLER,
  eventMetrics,
  kubeEventSink,
  microTime,
  redactNote,
  truncateNote,
  type EventBody,
  type EventRegarding,
  type EventSeries,
  type EventSink,
  type EventWrite,
} from './events.ts';

const T0 = Date.parse('2026-03-01T12:00:00Z');
const SEC = 1000;
const MIN = 60 * SEC;

function configMap(name = 'flappy', uid = `uid-${name}`): EventRegarding {
  return { apiVersion: 'v1', kind: 'ConfigMap', name, namespace: 'jobs', uid };
}

function correlator(): EventCorrelator {
  return new EventCorrelator({ reportingInstance: 'upscale-operator-0' });
}

/** The ops of `writes`, as `create` or `patch:<count>`. */
function ops(writes: EventWrite[]): string[] {
  return writes.map((w) => (w.op === 'create' ? 'create' : `patch:${w.series.count}`));
}

/** A sink that records every call and can be made to fail or to wait. */
class FakeSink implements EventSink {
  readonly calls: { op: 'create' | 'patch'; event: EventBody; series?: EventSeries }[] = [];
  fail: ((op: 'create' | 'patch') => Error | undefined) | undefined;
  gate: Promise<void> | undefined;

  async create(event: EventBody): Promise<void> {
    await this.#call('create', event);
  }

  async patch(event: EventBody, series: EventSeries): Promise<void> {
    await this.#call('patch', event, series);
  }

  async #call(op: 'create' | 'patch', event: EventBody, series?: EventSeries): Promise<void> {
    this.calls.push(series ? { op, event, series } : { op, event });
    await this.gate;
    const err = this.fail?.(op);
    if (err !== undefined) throw err;
  }
}

function httpError(code: number): Error {
  return Object.assign(new Error(`HTTP ${code}`), { code });
}

test('microTime writes six fractional digits and keeps sub-millisecond parts', () => {
  assert.equal(microTime(T0), '2026-03-01T12:00:00.000000Z');
  assert.equal(microTime(T0 + 64), '2026-03-01T12:00:00.064000Z');
  assert.equal(microTime(T0 + 1.5), '2026-03-01T12:00:00.001500Z');
  assert.equal(microTime(T0 + 999.999), '2026-03-01T12:00:00.999999Z');
  assert.equal(microTime(T0 + 999.9999), '2026-03-01T12:00:01.000000Z', 'rounded to the microsecond');
});

test('redaction hides URL queries, fragments and userinfo and leaves other text alone', () => {
  assert.equal(redactNote('GET https://bucket.s3/in.mp4?X-Amz-Signature=abc&X-Amz-Credential=k failed'), 'GET https://bucket.s3/in.mp4?<redacted> failed');
  assert.equal(redactNote('from http://user:secret@minio:9000/b/k: 403'), 'from http://<redacted>@minio:9000/b/k: 403');
  assert.equal(redactNote('https://tok@h/x#access_token=t'), 'https://<redacted>@h/x?<redacted>');
  // A raw `@` inside the password is hidden with the rest of it.
  assert.equal(redactNote('https://u:p@ss@h/x'), 'https://<redacted>@h/x');
  assert.equal(redactNote("opening 'https://h/a?sig=1' and HTTPS://h/b?t=2"), "opening 'https://h/a?<redacted>' and HTTPS://h/b?<redacted>");
  assert.equal(redactNote('s3://key:secret@bucket/in.mp4'), 's3://<redacted>@bucket/in.mp4');
  assert.equal(redactNote('shard 3 failed: exit code 137 (what? OOM@node-1)'), 'shard 3 failed: exit code 137 (what? OOM@node-1)');
});

test('a long note is cut to 1024 UTF-8 bytes without splitting a character', () => {
  assert.equal(truncateNote('short'), 'short');
  const exact = 'a'.repeat(NOTE_MAX_BYTES);
  assert.equal(truncateNote(exact), exact);
  const ascii = truncateNote('a'.repeat(5000));
  assert.equal(new TextEncoder().encode(ascii).length, NOTE_MAX_BYTES);
  assert.ok(ascii.endsWith('a…'));
  const wide = truncateNote('é'.repeat(1000)); // 2000 bytes
  assert.ok(new TextEncoder().encode(wide).length <= NOTE_MAX_BYTES);
  assert.match(wide, /^é+…$/);
  const emoji = truncateNote('🎞'.repeat(400));
  assert.match(emoji, /^(🎞)+…$/u);
});

test('the first occurrence creates an Event attached to the object', () => {
  const c = correlator();
  const seen = c.observe({ ...configMap(), resourceVersion: '42' }, 'Warning', 'ShardFailed', 'Shard', 'shard 3 failed', T0 + 0.25);
  assert.equal(seen.outcome, 'created');
  const [w] = seen.writes;
  assert.equal(w?.op, 'create');
  assert.deepEqual({ ...w.event, metadata: undefined }, {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: undefined,
    eventTime: '2026-03-01T12:00:00.000250Z',
    reportingController: REPORTING_CONTROLLER,
    reportingInstance: 'upscale-operator-0',
    regarding: { ...configMap(), resourceVersion: '42' },
    type: 'Warning',
    reason: 'ShardFailed',
    action: 'Shard',
    note: 'shard 3 failed',
  });
  assert.equal(w.event.metadata.namespace, 'jobs');
  assert.match(w.event.metadata.name, /^flappy\.[0-9a-f]+$/);
});

test('names are unique within one millisecond, and cluster-scoped objects report into default', () => {
  const c = correlator();
  const node: EventRegarding = { apiVersion: 'v1', kind: 'Node', name: 'gpu-node-1', namespace: '', uid: 'n1' };
  const a = c.observe(node, 'Normal', 'Seen', 'Probe', 'one', T0).writes[0];
  const b = c.observe(node, 'Normal', 'Seen', 'Probe', 'two', T0).writes[0];
  assert.equal(a?.event.metadata.namespace, 'default');
  assert.notEqual(a?.event.metadata.name, b?.event.metadata.name);
  const long = c.observe(configMap('x'.repeat(253)), 'Normal', 'Seen', 'Probe', 'n', T0).writes[0];
  assert.ok((long?.event.metadata.name.length ?? 0) <= 253);
});

test('100 repeats in a burst are 1 create now and 1 patch with the full count at flush', () => {
  const c = correlator();
  const writes: EventWrite[] = [];
  for (let i = 0; i < 100; i++) writes.push(...c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 3 failed', T0 + i).writes);
  assert.deepEqual(ops(writes), ['create']);
  const flushed = c.drain(T0 + 100);
  assert.deepEqual(ops(flushed), ['patch:100']);
  assert.equal(flushed[0]?.op === 'patch' && flushed[0].series.lastObservedTime, '2026-03-01T12:00:00.099000Z');
  assert.equal(c.size(), 0);
});

test('100 repeats one second apart are 1 create and a patch per 30 s heartbeat', () => {
  const c = correlator();
  const writes: EventWrite[] = [];
  for (let i = 0; i < 100; i++) {
    const now = T0 + i * SEC;
    writes.push(...c.due(now)); // what the recorder's timer does
    writes.push(...c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 3 failed', now).writes);
  }
  writes.push(...c.drain(T0 + 100 * SEC));
  assert.deepEqual(ops(writes), ['create', 'patch:30', 'patch:60', 'patch:90', 'patch:100']);
});

test('a repeat within the heartbeat waits for the timer, which fires 30 s after the last write', () => {
  const c = correlator();
  c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0);
  assert.equal(c.nextWakeup(), T0 + 5 * MIN, 'nothing to patch: the next thing is the token refill');
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 5 * SEC).outcome, 'merged');
  assert.equal(c.nextWakeup(), T0 + 30 * SEC);
  assert.deepEqual(ops(c.due(T0 + 29 * SEC)), []);
  assert.deepEqual(ops(c.due(T0 + 30 * SEC)), ['patch:2']);
  // Nothing new since: no patch for nothing.
  assert.deepEqual(ops(c.due(T0 + 90 * SEC)), []);
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 2 * MIN).outcome, 'patched');
});

test('a series ends after 6 minutes without a repeat, and a repeat every 5 minutes keeps it going', () => {
  const c = correlator();
  const cm = configMap();
  c.observe(cm, 'Warning', 'ShardFailed', 'Shard', 'n', T0);
  for (let i = 1; i <= 6; i++) assert.equal(c.observe(cm, 'Warning', 'ShardFailed', 'Shard', 'n', T0 + i * 5 * MIN).outcome, 'patched');
  assert.equal(c.observe(cm, 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 36 * MIN + 1).outcome, 'created');
  c.due(T0 + 43 * MIN);
  assert.equal(c.size(), 0, 'an ended series is forgotten');
});

test('a flush ends every series: the next occurrence is a new Event', () => {
  const c = correlator();
  c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0);
  assert.deepEqual(ops(c.drain(T0 + 1)), [], 'a series seen once needs no patch');
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 2).outcome, 'created');
});

test('different notes, reasons, actions, types or objects are different Events', () => {
  const c = correlator();
  const outcomes = [
    c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 1 failed', T0),
    c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 2 failed', T0),
    c.observe(configMap(), 'Warning', 'ShardRetried', 'Shard', 'shard 1 failed', T0),
    c.observe(configMap(), 'Warning', 'ShardFailed', 'Assemble', 'shard 1 failed', T0),
    c.observe(configMap(), 'Normal', 'ShardFailed', 'Shard', 'shard 1 failed', T0),
    c.observe(configMap('other'), 'Warning', 'ShardFailed', 'Shard', 'shard 1 failed', T0),
  ].map((o) => o.outcome);
  assert.deepEqual(outcomes, Array(6).fill('created'));
  // Notes that differ only in what redaction hides are the same Event.
  c.observe(configMap(), 'Warning', 'ProbeFailed', 'Probe', 'GET https://h/in.mp4?sig=1 failed', T0);
  assert.equal(c.observe(configMap(), 'Warning', 'ProbeFailed', 'Probe', 'GET https://h/in.mp4?sig=2 failed', T0 + 1).outcome, 'merged');
});

test('one object creates at most 25 distinct Events at once, then one per 5 minutes', () => {
  const c = correlator();
  const outcomes = Array.from({ length: 30 }, (_, i) => c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', `shard ${i} failed`, T0).outcome);
  assert.equal(outcomes.filter((o) => o === 'created').length, 25);
  assert.deepEqual(outcomes.slice(25), Array(5).fill('rate_limited'));
  // Repeats of an Event already created cost no token, another object has its own bucket.
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 0 failed', T0 + 1).outcome, 'merged');
  assert.equal(c.observe(configMap('other'), 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 1).outcome, 'created');
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'late 1', T0 + 4 * MIN).outcome, 'rate_limited');
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'late 2', T0 + 5 * MIN).outcome, 'created');
  assert.equal(c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'late 3', T0 + 5 * MIN).outcome, 'rate_limited');
});

test('everything tracked is forgotten once series end and buckets refill', () => {
  const c = correlator();
  for (let i = 0; i < 3; i++) c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', `n${i}`, T0);
  let now = T0;
  for (let at = c.nextWakeup(); at !== undefined; at = c.nextWakeup()) {
    assert.ok(at >= now, 'the wakeup moves forward');
    now = at;
    c.due(now);
  }
  assert.equal(c.size(), 0);
  assert.equal(now, T0 + 3 * 5 * MIN, 'the bucket was full again after 3 × 5 minutes');
});

test('an Event without reason or action is refused as invalid', () => {
  const c = correlator();
  assert.equal(c.observe(configMap(), 'Normal', '', 'Probe', 'n', T0).outcome, 'invalid');
  assert.equal(c.observe(configMap(), 'Normal', 'Probed', ' ', 'n', T0).outcome, 'invalid');
  assert.throws(() => new EventCorrelator({ reportingInstance: '' }), /reportingInstance/);
});

test('the recorder turns 100 repeats into 2 API requests and counts 100 occurrences', async () => {
  const sink = new FakeSink();
  const registry = new Registry();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0', metrics: eventMetrics(registry) });
  for (let i = 0; i < 100; i++) r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 3 failed');
  await r.flush();
  assert.deepEqual(
    sink.calls.map((c) => (c.series ? `${c.op}:${c.series.count}` : c.op)),
    ['create', 'patch:100'],
  );
  const text = await registry.metrics();
  assert.match(text, /upscale_operator_events_total\{type="Warning",reason="ShardFailed"\} 100/);
  assert.match(text, /upscale_operator_events_dropped_total\{cause="rate_limited"\} 0/);
});

test('a failed write never reaches the caller: it is logged and counted', async () => {
  const sink = new FakeSink();
  sink.fail = () => httpError(403);
  const warnings: string[] = [];
  const registry = new Registry();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0', metrics: eventMetrics(registry), log: { warn: (_o, msg) => warnings.push(msg) } });
  r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n');
  await r.flush();
  assert.equal(sink.calls.length, 1, 'a 403 is not retried');
  assert.deepEqual(warnings, ['Failed to write Event']);
  assert.match(await registry.metrics(), /upscale_operator_events_dropped_total\{cause="write_failed"\} 1/);
});

test('a write that fails with a network error or a 5xx is retried', async () => {
  const sink = new FakeSink();
  const errors: Error[] = [new Error('ECONNRESET'), httpError(503)];
  sink.fail = () => errors.shift();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0', retryDelaysMs: [0, 0, 0] });
  r.event(configMap(), 'Normal', 'Probed', 'Probe', 'n');
  await r.flush();
  assert.deepEqual(sink.calls.map((c) => c.op), ['create', 'create', 'create']);
});

test('a patch of an Event that is gone creates it again with its series', async () => {
  const sink = new FakeSink();
  sink.fail = (op) => (op === 'patch' ? httpError(404) : undefined);
  const r = new EventRecorder({ sink, reportingInstance: 'op-0' });
  r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n');
  r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n');
  await r.flush();
  assert.deepEqual(sink.calls.map((c) => c.op), ['create', 'patch', 'create']);
  assert.equal(sink.calls[2]?.event.series?.count, 2);
  assert.equal(sink.calls[2]?.event.metadata.name, sink.calls[0]?.event.metadata.name);
});

test('a full queue drops writes with one warning, and a waiting create takes its series along', async () => {
  const sink = new FakeSink();
  let open = (): void => undefined;
  sink.gate = new Promise((resolve) => (open = resolve));
  const warnings: object[] = [];
  const registry = new Registry();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0', maxPending: 3, metrics: eventMetrics(registry), log: { warn: (o) => warnings.push(o) } });
  for (let i = 0; i < 10; i++) r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', `shard ${i}`);
  for (let i = 0; i < 4; i++) r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'shard 1');
  assert.equal(r.pending(), 3, 'one write in flight, three waiting');
  assert.equal(warnings.length, 1);
  assert.match(await registry.metrics(), /upscale_operator_events_dropped_total\{cause="queue_full"\} 6/);
  const flushed = r.flush();
  open();
  await flushed;
  assert.deepEqual(
    sink.calls.map((c) => `${c.op} ${c.event.note} ${c.event.series?.count ?? 1}`),
    ['create shard 0 1', 'create shard 1 5', 'create shard 2 1', 'create shard 3 1'],
  );
});

test('the recorder never throws, whatever it is given', async () => {
  const sink = new FakeSink();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0', log: { warn: () => undefined } });
  assert.doesNotThrow(() => r.event(null as unknown as EventRegarding, 'Normal', 'Probed', 'Probe', 'n'));
  assert.doesNotThrow(() => r.event(configMap(), 'Normal', '', 'Probe', 'n'));
  await r.flush();
  assert.equal(sink.calls.length, 0);
});

test('the recorder patches a series on its own 30 s after the create', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: T0 });
  const sink = new FakeSink();
  const r = new EventRecorder({ sink, reportingInstance: 'op-0' });
  const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
  r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n');
  r.event(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n');
  await settle();
  t.mock.timers.tick(29 * SEC);
  await settle();
  assert.deepEqual(sink.calls.map((c) => c.op), ['create']);
  t.mock.timers.tick(1 * SEC);
  await settle();
  assert.deepEqual(sink.calls.map((c) => c.series?.count ?? c.op), ['create', 2]);
  await r.flush();
  assert.equal(sink.calls.length, 2, 'nothing left to flush');
});

test('the metrics hook registers both counters in the given registry, every drop cause at 0', async () => {
  const registry = new Registry();
  eventMetrics(registry);
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name).sort();
  assert.deepEqual(names, ['upscale_operator_events_dropped_total', 'upscale_operator_events_total']);
  const dropped = (await registry.metrics()).split('\n').filter((l) => l.startsWith('upscale_operator_events_dropped_total{'));
  assert.equal(dropped.length, 4);
});

test('the API adapter sends the MicroTime unchanged and patches the series as a merge patch', async (t) => {
  const seen: { method: string; url: string; type: string; body: unknown }[] = [];
  const server = createServer((req, res) => {
    let data = '';
    req.on('data', (chunk: Buffer) => (data += chunk.toString()));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(data) as unknown });
      res.writeHead(req.method === 'POST' ? 201 : 200, { 'content-type': 'application/json' }).end(data);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => server.close());
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'fake', server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, skipTLSVerify: true }],
    users: [{ name: 'fake', token: 'fake' }],
    contexts: [{ name: 'fake', cluster: 'fake', user: 'fake' }],
    currentContext: 'fake',
  });
  const sink = kubeEventSink(kc);
  const c = correlator();
  const [create] = c.observe(configMap(), 'Warning', 'ShardFailed', 'Shard', 'n', T0 + 0.123).writes;
  assert.ok(create?.op === 'create');
  await sink.create(create.event);
  await sink.patch(create.event, { count: 7, lastObservedTime: '2026-03-01T12:00:30.000456Z' });
  assert.equal(seen[0]?.method, 'POST');
  assert.equal(seen[0]?.url, '/apis/events.k8s.io/v1/namespaces/jobs/events');
  assert.equal(seen[0]?.type, 'application/json');
  assert.deepEqual(seen[0]?.body, create.event);
  assert.equal(create.event.eventTime, '2026-03-01T12:00:00.000123Z');
  assert.equal(seen[1]?.method, 'PATCH');
  assert.equal(seen[1]?.url, `/apis/events.k8s.io/v1/namespaces/jobs/events/${create.event.metadata.name}`);
  assert.equal(seen[1]?.type, 'application/merge-patch+json');
  assert.deepEqual(seen[1]?.body, { series: { count: 7, lastObservedTime: '2026-03-01T12:00:30.000456Z' } });
});
