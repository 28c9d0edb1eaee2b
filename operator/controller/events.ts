/**
 * Kubernetes Events (events.k8s.io/v1) about the operator's objects, recorded the way client-go's
 * `tools/events` does it:
 *
 * - `event()` is fire-and-forget: it never throws and never waits; API writes go through a
 *   bounded queue drained by one writer, and what does not fit is dropped and counted.
 * - Repeats are folded into an event series: the same (object uid, type, reason, action, note)
 *   seen again within the window (6 min since it was last seen, or until `flush`) is not created
 *   again; its `series.count` and `series.lastObservedTime` are patched, at most once per 30 s per
 *   series (client-go's heartbeat), so a shard that flaps 100 times costs 1 create and a few patches.
 * - A token bucket per object (burst 25, one more every 5 min: client-go's
 *   EventSourceObjectSpamFilter) caps how many distinct events one object can create. Unlike
 *   client-go, repeats folded into a series do not take a token: they cost no new object, and
 *   charging them would stop `series.count` from counting.
 * - Notes are redacted (URL query strings and userinfo) and cut to the API's 1024-byte limit.
 *
 * {@link EventCorrelator} is the pure part (no I/O, no timers, the time is an argument);
 * {@link EventRecorder} adds the queue and the heartbeat timer; {@link kubeEventSink} is the
 * adapter for the API server.
 */
import { EventsV1Api, Observable, PatchStrategy, type ConfigurationOptions, type EventsV1Event, type KubeConfig, type ObservableMiddleware } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { httpStatus } from './kube-writes.ts';
import { redactUrlsIn } from '../../worker/redact.ts';

export const REPORTING_CONTROLLER = 'upscale.dev/upscale-operator';
/** The API server rejects longer notes (`NoteLengthLimit`, counted in UTF-8 bytes). */
export const NOTE_MAX_BYTES = 1024;
/** The API server's limit for reason, action and reportingInstance. */
const FIELD_MAX = 128;

export type EventType = 'Normal' | 'Warning';

/** The object an Event is about, its `regarding`. An empty `namespace` means cluster-scoped. */
export interface EventRegarding {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
  uid: string;
  resourceVersion?: string;
}

/** `series` of an Event; `lastObservedTime` is a MicroTime. */
export interface EventSeries {
  count: number;
  lastObservedTime: string;
}

/**
 * An Event as it goes on the wire. Not client-node's `EventsV1Event`, whose `eventTime` claims to
 * be a Date but arrives as a string, and which would send a plain Date with milliseconds only.
 */
export interface EventBody {
  apiVersion: 'events.k8s.io/v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  /** MicroTime: RFC 3339 with exactly six fractional digits, which the API server requires. */
  eventTime: string;
  series?: EventSeries;
  reportingController: string;
  reportingInstance: string;
  regarding: EventRegarding;
  type: EventType;
  reason: string;
  action: string;
  note: string;
}

/** One write to the API server: create an Event, or patch the series of one already created. */
export type EventWrite = { op: 'create'; event: EventBody } | { op: 'patch'; event: EventBody; series: EventSeries };

/** Why an event was not written. */
export type DropCause = 'rate_limited' | 'queue_full' | 'write_failed' | 'invalid';
export const DROP_CAUSES: readonly DropCause[] = ['rate_limited', 'queue_full', 'write_failed', 'invalid'];

/** A MicroTime (`2026-01-02T03:04:05.123456Z`) from epoch milliseconds, fractions kept to 1 µs. */
export function microTime(ms: number): string {
  // Whole microseconds fit a double exactly (epoch µs < 2^53); fractions of ms do not.
  const us = Math.round(ms * 1000);
  return new Date(Math.floor(us / 1000)).toISOString().replace(/Z$/, `${String(us % 1000).padStart(3, '0')}Z`);
}

/**
 * Hides what must not reach an Event, which any user who may read events can see: URL user info,
 * queries and fragments (presigned signatures, tokens), by the worker's one redaction rule.
 */
export const redactNote = redactUrlsIn;

/** Cuts `note` to at most `maxBytes` UTF-8 bytes, on a character boundary, ending in `…` when cut. */
export function truncateNote(note: string, maxBytes = NOTE_MAX_BYTES): string {
  const bytes = new TextEncoder().encode(note);
  if (bytes.length <= maxBytes) return note;
  let cut = maxBytes - 3; // room for the 3-byte ellipsis
  while (cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--; // never split a multi-byte character
  return `${new TextDecoder().decode(bytes.subarray(0, cut))}…`;
}

/** What the recorder counts; {@link eventMetrics} maps it onto Prometheus counters. */
export interface EventMetrics {
  /** One occurrence recorded (a repeat folded into a series counts too). */
  recorded(type: EventType, reason: string): void;
  dropped(cause: DropCause): void;
}

/**
 * `upscale_operator_events_total{type,reason}` and `upscale_operator_events_dropped_total{cause}`
 * in `registry`. Call it once per registry.
 */
export function eventMetrics(registry: Registry): EventMetrics {
  const total = new Counter({
    name: 'upscale_operator_events_total',
    help: 'Kubernetes Events recorded by the operator, repeats folded into a series included',
    labelNames: ['type', 'reason'],
    registers: [registry],
  });
  const dropped = new Counter({
    name: 'upscale_operator_events_dropped_total',
    help: 'Kubernetes Events not written: rate limited per object, queue full, write failed or invalid',
    labelNames: ['cause'],
    registers: [registry],
  });
  for (const cause of DROP_CAUSES) dropped.inc({ cause }, 0);
  return { recorded: (type, reason) => total.inc({ type, reason }), dropped: (cause) => dropped.inc({ cause }) };
}

/** Tunables of {@link EventCorrelator}; the defaults are client-go's. */
export interface CorrelatorOptions {
  reportingInstance: string;
  /** A series ends when not seen for this long (ms); default 360 000 (6 min). */
  windowMs?: number;
  /** Least time between two writes of one series (ms); default 30 000. */
  heartbeatMs?: number;
  /** Distinct events one object may create at once; default 25. */
  burst?: number;
  /** One more allowed per this many ms; default 300 000 (5 min). */
  refillMs?: number;
}

/** What became of one occurrence. */
export interface Observation {
  outcome: 'created' | 'merged' | 'patched' | 'rate_limited' | 'invalid';
  writes: EventWrite[];
}

interface Series {
  event: EventBody;
  count: number;
  lastObserved: number;
  /** When the create or the last patch was handed out. */
  lastWritten: number;
  /** Seen again since the last write. */
  dirty: boolean;
}

interface Bucket {
  tokens: number;
  at: number;
}

/** The deduplication and rate-limit decisions, without I/O; every time is epoch ms. */
export class EventCorrelator {
  readonly #series = new Map<string, Series>();
  readonly #buckets = new Map<string, Bucket>();
  readonly #instance: string;
  readonly #windowMs: number;
  readonly #heartbeatMs: number;
  readonly #burst: number;
  readonly #refillMs: number;
  /** Makes names unique when two events of one object share a microsecond. */
  #seq = 0;

  constructor(opts: CorrelatorOptions) {
    if (opts.reportingInstance.trim() === '') throw new Error('event recorder needs a reportingInstance (the operator pod name)');
    this.#instance = opts.reportingInstance.slice(0, FIELD_MAX);
    this.#windowMs = opts.windowMs ?? 360_000;
    this.#heartbeatMs = opts.heartbeatMs ?? 30_000;
    this.#burst = opts.burst ?? 25;
    this.#refillMs = opts.refillMs ?? 300_000;
  }

  /** Records one occurrence at `now`; returns the writes it needs now (often none). */
  observe(regarding: EventRegarding, type: EventType, reason: string, action: string, note: string, now: number): Observation {
    if (reason.trim() === '' || action.trim() === '') return { outcome: 'invalid', writes: [] };
    const body = { type, reason: reason.slice(0, FIELD_MAX), action: action.slice(0, FIELD_MAX), note: truncateNote(redactNote(note)) };
    const key = JSON.stringify([regarding.uid || objectKey(regarding), type, body.reason, body.action, body.note]);
    const writes: EventWrite[] = [];
    const existing = this.#series.get(key);
    if (existing !== undefined && now - existing.lastObserved < this.#windowMs) {
      existing.count++;
      existing.lastObserved = now;
      if (now - existing.lastWritten < this.#heartbeatMs) {
        existing.dirty = true;
        return { outcome: 'merged', writes };
      }
      writes.push(this.#patch(existing, now));
      return { outcome: 'patched', writes };
    }
    // The old series is over: its last count goes out before the new event.
    if (existing?.dirty) writes.push(this.#patch(existing, now));
    this.#series.delete(key);
    if (!this.#take(regarding, now)) return { outcome: 'rate_limited', writes };
    const event: EventBody = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: this.#name(regarding.name, now), namespace: regarding.namespace || 'default' },
      eventTime: microTime(now),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.#instance,
      regarding: pickRegarding(regarding),
      ...body,
    };
    this.#series.set(key, { event, count: 1, lastObserved: now, lastWritten: now, dirty: false });
    writes.push({ op: 'create', event });
    return { outcome: 'created', writes };
  }

  /** The patches due at `now` (heartbeat); forgets ended series and refilled buckets. */
  due(now: number): EventWrite[] {
    const writes: EventWrite[] = [];
    for (const [key, s] of this.#series) {
      if (s.dirty && now - s.lastWritten >= this.#heartbeatMs) writes.push(this.#patch(s, now));
      else if (!s.dirty && now - s.lastObserved >= this.#windowMs) this.#series.delete(key);
    }
    for (const [key, b] of this.#buckets) if (this.#refill(b, now) >= this.#burst) this.#buckets.delete(key);
    return writes;
  }

  /** When `due` next has something to do, or undefined when nothing is tracked. */
  nextWakeup(): number | undefined {
    let next = Infinity;
    for (const s of this.#series.values()) next = Math.min(next, s.dirty ? s.lastWritten + this.#heartbeatMs : s.lastObserved + this.#windowMs);
    for (const b of this.#buckets.values()) next = Math.min(next, b.at + (this.#burst - b.tokens) * this.#refillMs);
    return next === Infinity ? undefined : next;
  }

  /** Ends every series (flush): the patches of those seen since their last write. Buckets stay. */
  drain(now: number): EventWrite[] {
    const writes = [...this.#series.values()].filter((s) => s.dirty).map((s) => this.#patch(s, now));
    this.#series.clear();
    return writes;
  }

  /** Number of series tracked (for tests). */
  size(): number {
    return this.#series.size;
  }

  #patch(s: Series, now: number): EventWrite {
    s.lastWritten = now;
    s.dirty = false;
    return { op: 'patch', event: s.event, series: { count: s.count, lastObservedTime: microTime(s.lastObserved) } };
  }

  /** Takes a token of the object's bucket; false when it is empty. */
  #take(regarding: EventRegarding, now: number): boolean {
    const key = regarding.uid || objectKey(regarding);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    this.#refill(bucket, now);
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  #refill(b: Bucket, now: number): number {
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) / this.#refillMs);
    b.at = now;
    // Float sums can stop a hair short of full; treat that as full.
    if (this.#burst - b.tokens < 1e-9) b.tokens = this.#burst;
    return b.tokens;
  }

  /** client-go's `<object name>.<hex nanoseconds>`, unique per recorder, within 253 characters. */
  #name(objectName: string, now: number): string {
    const nanos = BigInt(Math.round(now * 1000)) * 1000n + BigInt(this.#seq++ % 1000);
    const suffix = `.${nanos.toString(16)}`;
    return objectName.slice(0, 253 - suffix.length) + suffix;
  }
}

/** Only the reference's own fields, whatever else the caller's object carries. */
function pickRegarding(r: EventRegarding): EventRegarding {
  const { apiVersion, kind, name, namespace, uid, resourceVersion } = r;
  return { apiVersion, kind, name, namespace, uid, ...(resourceVersion ? { resourceVersion } : {}) };
}

function objectKey(r: EventRegarding): string {
  return `${r.apiVersion}/${r.kind}/${r.namespace}/${r.name}`;
}

/** Where the recorder writes; errors carry the HTTP status as `code`, as client-node's do. */
export interface EventSink {
  create(event: EventBody): Promise<void>;
  /** Merge-patches `series` of the Event named by `event.metadata`. */
  patch(event: EventBody, series: EventSeries): Promise<void>;
}

/**
 * Middleware that sends `json` as the request body, in place of what client-node serialised.
 * client-node 2.0.1 sends a `V1MicroTime` field that holds a plain Date as `toISOString()`
 * (milliseconds), which the API server rejects (`cannot parse ".064Z" as ".000000"`), and its
 * own `V1MicroTime` pads with `000`; sending our own JSON keeps the exact MicroTime strings.
 */
function rawJson(json: string, contentType: string): ConfigurationOptions<ObservableMiddleware> {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setHeaderParam('Content-Type', contentType);
          ctx.setBody(json);
          return new Observable(Promise.resolve(ctx));
        },
        post: (res) => new Observable(Promise.resolve(res)),
      },
    ],
    middlewareMergeStrategy: 'append',
  };
}

/** {@link EventSink} over the events.k8s.io/v1 API. Needs `create` and `patch` on `events.k8s.io` events. */
export function kubeEventSink(kc: KubeConfig): EventSink {
  const api = kc.makeApiClient(EventsV1Api);
  return {
    async create(event) {
      // The typed body is only there to satisfy the signature: rawJson replaces what it becomes.
      const body = event as unknown as EventsV1Event;
      await api.createNamespacedEvent({ namespace: event.metadata.namespace, body }, rawJson(JSON.stringify(event), 'application/json'));
    },
    async patch(event, series) {
      const { name, namespace } = event.metadata;
      await api.patchNamespacedEvent({ namespace, name, body: { series } }, rawJson(JSON.stringify({ series }), PatchStrategy.MergePatch));
    },
  };
}

/** The slice of a pino logger the recorder writes to. */
export interface EventLogger {
  warn(obj: object, msg: string): void;
}

/** Options of {@link EventRecorder}. */
export interface EventRecorderOptions extends CorrelatorOptions {
  sink: EventSink;
  /** Writes waiting at most; more are dropped and counted. Default 1000. */
  maxPending?: number;
  /** Waits before retrying a write that failed with a network error, 429 or 5xx; default 1 s, 4 s. */
  retryDelaysMs?: readonly number[];
  /** Millisecond wall clock; default `Date.now`. */
  now?: () => number;
  metrics?: EventMetrics;
  log?: EventLogger;
}

const noMetrics: EventMetrics = { recorded: () => undefined, dropped: () => undefined };
const noLog: EventLogger = { warn: () => undefined };
/** setTimeout's largest delay; longer ones fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

function retryable(error: unknown): boolean {
  const status = httpStatus(error);
  return status === undefined || status === 429 || status >= 500;
}

/** Records Events without ever blocking or throwing; see the module comment. */
export class EventRecorder {
  readonly #correlator: EventCorrelator;
  readonly #sink: EventSink;
  readonly #maxPending: number;
  readonly #retryDelaysMs: readonly number[];
  readonly #now: () => number;
  readonly #metrics: EventMetrics;
  readonly #log: EventLogger;
  /** Writes waiting, in order, by event namespace/name; a later write of the same event merges in. */
  readonly #pending = new Map<string, EventWrite>();
  readonly #idle: (() => void)[] = [];
  #writing = false;
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #overflowing = false;
  #droppedFull = 0;

  constructor(opts: EventRecorderOptions) {
    this.#correlator = new EventCorrelator(opts);
    this.#sink = opts.sink;
    this.#maxPending = opts.maxPending ?? 1000;
    this.#retryDelaysMs = opts.retryDelaysMs ?? [1000, 4000];
    this.#now = opts.now ?? Date.now;
    this.#metrics = opts.metrics ?? noMetrics;
    this.#log = opts.log ?? noLog;
  }

  /**
   * Records that `reason` happened to `regarding` while doing `action`. Returns at once; the
   * write happens in the background, or is folded into an earlier identical event.
   *
   * @param reason stable CamelCase, e.g. `ShardFailed`
   * @param action CamelCase verb, e.g. `Probe`, `Shard`, `Assemble`, `Suspend`
   * @param note for humans; URL secrets are redacted, and it is cut to 1024 bytes
   */
  event(regarding: EventRegarding, type: EventType, reason: string, action: string, note: string): void {
    try {
      const seen = this.#correlator.observe(regarding, type, reason, action, note, this.#now());
      if (seen.outcome === 'rate_limited' || seen.outcome === 'invalid') this.#metrics.dropped(seen.outcome);
      else this.#metrics.recorded(type, reason);
      this.#enqueue(seen.writes);
    } catch (err) {
      this.#metrics.dropped('invalid');
      this.#log.warn({ err, reason, action }, 'Dropped Event that could not be recorded');
    }
  }

  /**
   * Writes the latest count of every series, ends the series (the next occurrence creates a new
   * Event), and resolves once every write has been attempted. Never rejects.
   */
  async flush(): Promise<void> {
    try {
      this.#enqueue(this.#correlator.drain(this.#now()));
    } catch (err) {
      this.#log.warn({ err }, 'Failed to flush Events');
    }
    if (!this.#writing && this.#pending.size === 0) return;
    await new Promise<void>((resolve) => this.#idle.push(resolve));
  }

  /** Writes waiting (for tests and debugging). */
  pending(): number {
    return this.#pending.size;
  }

  #enqueue(writes: EventWrite[]): void {
    for (const w of writes) {
      const key = `${w.event.metadata.namespace}/${w.event.metadata.name}`;
      const waiting = this.#pending.get(key);
      if (waiting !== undefined) {
        // A create still waiting takes the series with it; a waiting patch is superseded.
        this.#pending.set(key, waiting.op === 'create' && w.op === 'patch' ? { op: 'create', event: { ...waiting.event, series: w.series } } : w);
      } else if (this.#pending.size >= this.#maxPending) {
        this.#droppedFull++;
        this.#metrics.dropped('queue_full');
        if (!this.#overflowing) this.#log.warn({ maxPending: this.#maxPending, droppedTotal: this.#droppedFull }, 'Event queue was full, dropped Event');
        this.#overflowing = true;
      } else {
        this.#pending.set(key, w);
      }
    }
    this.#schedule();
    if (!this.#writing && this.#pending.size > 0) void this.#drain();
  }

  /** Arms the heartbeat timer for the correlator's next wakeup. */
  #schedule(): void {
    const at = this.#correlator.nextWakeup() ?? Infinity;
    if (at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    if (at === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timerAt = Infinity;
      this.#timer = undefined;
      try {
        this.#enqueue(this.#correlator.due(this.#now()));
      } catch (err) {
        this.#log.warn({ err }, 'Failed to write Event series heartbeat');
      }
    }, Math.min(MAX_TIMER_MS, Math.max(0, at - this.#now())));
    // Series bookkeeping alone must not keep the process alive.
    this.#timer.unref();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      for (let next = this.#pending.entries().next(); !next.done; next = this.#pending.entries().next()) {
        const [key, w] = next.value;
        this.#pending.delete(key);
        if (this.#pending.size < this.#maxPending) this.#overflowing = false;
        await this.#write(w);
      }
    } finally {
      this.#writing = false;
      for (const resolve of this.#idle.splice(0)) resolve();
    }
  }

  async #write(w: EventWrite): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.#apply(w);
        return;
      } catch (err) {
        const delay = this.#retryDelaysMs[attempt];
        if (delay !== undefined && retryable(err)) {
          await new Promise((resolve) => setTimeout(resolve, delay));
          continue;
        }
        this.#metrics.dropped('write_failed');
        const { regarding, reason, metadata } = w.event;
        this.#log.warn({ err, op: w.op, event: `${metadata.namespace}/${metadata.name}`, kind: regarding.kind, name: regarding.name, reason }, 'Failed to write Event');
        return;
      }
    }
  }

  async #apply(w: EventWrite): Promise<void> {
    if (w.op === 'patch') {
      try {
        await this.#sink.patch(w.event, w.series);
        return;
      } catch (err) {
        // Gone (TTL, or its create was dropped): create it again with the series, as client-go does.
        if (httpStatus(err) !== 404) throw err;
      }
    }
    try {
      await this.#sink.create(w.op === 'patch' ? { ...w.event, series: w.series } : w.event);
    } catch (err) {
      // Already there: an earlier attempt got through.
      if (httpStatus(err) !== 409) throw err;
    }
  }
}
