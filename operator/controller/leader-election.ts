/**
 * Leader election on a `coordination.k8s.io/v1` Lease, ported from client-go's
 * `tools/leaderelection` (client-node has none), so that of several operator replicas exactly one
 * reconciles:
 *
 * - **Skew-tolerant expiry.** A follower never compares the holder's `renewTime` with its own
 *   clock. It remembers the local monotonic time at which it last saw the record change; the lease
 *   has expired once the record's `leaseDurationSeconds` have passed since then without a change.
 * - **Optimistic concurrency.** Every write carries the resourceVersion last seen, so of two
 *   candidates taking over one expired lease, one gets 409 Conflict and stays a follower.
 * - **Loss at once.** A leader that has not renewed successfully for `renewDeadline` (counted from
 *   the start of its last successful renew request) stops leading at that moment, by timer, even
 *   while a request hangs: `onStoppedLeading` runs and the caller exits, as controller-runtime does.
 *   Since renewDeadline < leaseDuration, it has stopped before any follower can take over.
 * - **Release on shutdown** (client-go's `ReleaseOnCancel`): the holder is cleared and the duration
 *   set to 1 s, so a follower takes over within a retry period rather than a lease duration.
 *
 * There is no fencing (client-go has none either): a process whose event loop is blocked for longer
 * than leaseDuration − renewDeadline can act after a follower took over. The loop runs on timers
 * only and `isLeader()` checks the deadline itself; keep CPU-heavy work off this thread.
 *
 * MicroTime: the API server parses `renewTime`/`acquireTime` with exactly six fractional digits.
 * client-node 2.0.1 has no serializer entry for `V1MicroTime`: a plain `Date` is sent as
 * `toISOString()` (`….123Z`) and rejected with 400, while strings pass through untouched and reads
 * return the server's strings (despite the `V1MicroTime` type). So records hold MicroTime strings
 * (`formatMicroTime`) and are written with the typed PUT/POST; no patch or raw request is needed.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import {
  Observable,
  type ConfigurationOptions,
  type CoordinationV1Api,
  type ObservableMiddleware,
  type V1Lease,
  type V1LeaseSpec,
  type V1MicroTime,
  type V1ObjectMeta,
} from '@kubernetes/client-node';
import { Counter, Gauge, type Registry } from 'prom-client';
import { httpStatus } from './kube-writes.ts';

// ---- Timings ----

/** The three durations of leader election, in milliseconds. */
export interface LeaderElectionTimings {
  /** How long followers wait after their last observed change of the record before taking over; whole seconds; default 15 000. */
  leaseDurationMs: number;
  /** How long the leader keeps leading without a successful renew; default 10 000. */
  renewDeadlineMs: number;
  /** The interval between attempts to acquire or renew; default 2 000. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMINGS: Readonly<LeaderElectionTimings> = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** client-go's JitterFactor: followers wait retryPeriod × (1 + 1.2 × random) between attempts. */
const JITTER_FACTOR = 1.2;

/** Throws unless `leaseDuration > renewDeadline > 1.2 × retryPeriod` (client-go's rule), all positive, the lease in whole seconds. */
export function validateTimings(t: LeaderElectionTimings): void {
  const got = `got leaseDuration ${t.leaseDurationMs} ms, renewDeadline ${t.renewDeadlineMs} ms, retryPeriod ${t.retryPeriodMs} ms`;
  for (const v of [t.leaseDurationMs, t.renewDeadlineMs, t.retryPeriodMs]) {
    if (!Number.isFinite(v) || v <= 0) throw new Error(`leader election timings must be positive numbers of milliseconds; ${got}`);
  }
  if (t.leaseDurationMs % 1000 !== 0) throw new Error(`leader election leaseDuration must be whole seconds (the Lease stores leaseDurationSeconds); ${got}`);
  if (!(t.leaseDurationMs > t.renewDeadlineMs && t.renewDeadlineMs > JITTER_FACTOR * t.retryPeriodMs)) {
    throw new Error(`leader election timings must satisfy leaseDuration > renewDeadline > 1.2 × retryPeriod; ${got}`);
  }
}

// ---- The record and the pure decisions ----

/** The leader election record of a Lease's spec. Times are MicroTime strings, '' when absent. */
export interface LeaseRecord {
  /** '' when nobody holds the lease (it was released). */
  holderIdentity: string;
  /** 0 when the Lease does not say. */
  leaseDurationSeconds: number;
  acquireTime: string;
  renewTime: string;
  leaseTransitions: number;
}

/** A record as stored, with the resourceVersion a write must carry. */
export interface StoredLease {
  record: LeaseRecord;
  resourceVersion: string;
}

/** A stored record and the local monotonic time (ms) at which it was first seen in this form. */
export interface Observation extends StoredLease {
  observedAt: number;
}

/** `epochMs` as a Kubernetes MicroTime: RFC 3339 in UTC with six fractional digits. */
export function formatMicroTime(epochMs: number): string {
  const micros = Math.floor(epochMs * 1000);
  const seconds = Math.floor(micros / 1_000_000);
  const iso = new Date(seconds * 1000).toISOString();
  return `${iso.slice(0, -'.000Z'.length)}.${String(micros - seconds * 1_000_000).padStart(6, '0')}Z`;
}

/** Whether two records are the same (resourceVersion aside: a label change is not a renewal). */
export function sameRecord(a: LeaseRecord, b: LeaseRecord): boolean {
  return (
    a.holderIdentity === b.holderIdentity &&
    a.leaseDurationSeconds === b.leaseDurationSeconds &&
    a.acquireTime === b.acquireTime &&
    a.renewTime === b.renewTime &&
    a.leaseTransitions === b.leaseTransitions
  );
}

/** The observation after reading `stored` at local time `now`: its clock restarts only when the record changed. */
export function observe(prev: Observation | undefined, stored: StoredLease, now: number): Observation {
  const observedAt = prev !== undefined && sameRecord(prev.record, stored.record) ? prev.observedAt : now;
  return { ...stored, observedAt };
}

/** When the observed lease expires, in the observer's monotonic ms; a record without a duration gets `fallbackMs`. */
export function expiresAt(obs: Observation, fallbackMs: number): number {
  const s = obs.record.leaseDurationSeconds;
  return obs.observedAt + (s > 0 ? s * 1000 : fallbackMs);
}

/** What one attempt should write, if anything. */
export type LeasePlan =
  | { action: 'create'; record: LeaseRecord }
  | { action: 'update'; record: LeaseRecord; resourceVersion: string }
  | { action: 'wait'; holder: string; expiresAt: number };

/** The input of {@link planAcquireOrRenew}. */
export interface PlanInput {
  identity: string;
  /** The observed Lease; undefined when it does not exist. */
  observed: Observation | undefined;
  /** Local monotonic ms. */
  now: number;
  /** The MicroTime to write as renewTime (and acquireTime on a take-over). */
  wallTime: string;
  leaseDurationMs: number;
}

/**
 * client-go's `tryAcquireOrRenew` decision: create a missing Lease; renew our own (keeping
 * acquireTime and leaseTransitions); take over a released or locally expired one, counting a
 * transition; otherwise wait.
 */
export function planAcquireOrRenew(input: PlanInput): LeasePlan {
  const { identity, observed, now, wallTime } = input;
  const leaseDurationSeconds = input.leaseDurationMs / 1000;
  const fresh = { holderIdentity: identity, leaseDurationSeconds, acquireTime: wallTime, renewTime: wallTime };
  if (observed === undefined) return { action: 'create', record: { ...fresh, leaseTransitions: 0 } };
  const { record, resourceVersion } = observed;
  if (record.holderIdentity === identity) return { action: 'update', resourceVersion, record: { ...record, leaseDurationSeconds, renewTime: wallTime } };
  const expires = expiresAt(observed, input.leaseDurationMs);
  if (record.holderIdentity !== '' && now < expires) return { action: 'wait', holder: record.holderIdentity, expiresAt: expires };
  return { action: 'update', resourceVersion, record: { ...fresh, leaseTransitions: record.leaseTransitions + 1 } };
}

/** The record that hands a lease back: no holder, 1 s duration (for electors that ignore an empty holder), transitions kept. */
export function releasedRecord(record: LeaseRecord, wallTime: string): LeaseRecord {
  return { holderIdentity: '', leaseDurationSeconds: 1, acquireTime: wallTime, renewTime: wallTime, leaseTransitions: record.leaseTransitions };
}

/** Whether a leader whose last successful renew started at `lastRenewAt` must stop. */
export function renewDeadlinePassed(lastRenewAt: number, now: number, renewDeadlineMs: number): boolean {
  return now - lastRenewAt >= renewDeadlineMs;
}

// ---- The store: a Lease through client-node ----

/**
 * Where the record lives: {@link leaseStore} for a real Lease; tests use an in-memory one. Writes
 * reject with an error whose `code` is 409 when the Lease exists (create) or the resourceVersion is
 * stale (update), as client-node's ApiException does. An aborted `signal` rejects the request.
 */
export interface LeaseStore {
  /** `namespace/name`, for logs. */
  readonly description: string;
  /** The current record; undefined when the Lease does not exist. */
  get(signal: AbortSignal): Promise<StoredLease | undefined>;
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease>;
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease>;
}

/** The calls {@link leaseStore} makes; a `CoordinationV1Api` from `kc.makeApiClient`, or a wrapper of one. */
export type LeaseApi = Pick<CoordinationV1Api, 'readNamespacedLease' | 'createNamespacedLease' | 'replaceNamespacedLease'>;

const FIELD_MANAGER = 'upscale-operator';

/** client-node options that tie one request to `signal` (per-call middleware, after the auth middleware). */
function abortable(signal: AbortSignal): ConfigurationOptions {
  const middleware: ObservableMiddleware = {
    pre: (ctx) => {
      ctx.setSignal(signal);
      return new Observable(Promise.resolve(ctx));
    },
    post: (rsp) => new Observable(Promise.resolve(rsp)),
  };
  return { middleware: [middleware], middlewareMergeStrategy: 'append' };
}

/** A MicroTime as client-node hands it out: the server's string at run time, whatever the type says. */
function microTimeText(v: unknown): string {
  if (typeof v === 'string') return v;
  return v instanceof Date ? formatMicroTime(v.getTime()) : '';
}

function toRecord(spec: V1LeaseSpec | undefined): LeaseRecord {
  return {
    holderIdentity: spec?.holderIdentity ?? '',
    leaseDurationSeconds: spec?.leaseDurationSeconds ?? 0,
    acquireTime: microTimeText(spec?.acquireTime),
    renewTime: microTimeText(spec?.renewTime),
    leaseTransitions: spec?.leaseTransitions ?? 0,
  };
}

function toSpec(r: LeaseRecord): V1LeaseSpec {
  // The serializer passes strings through as they are (see the module comment); a Date would lose the microseconds' format.
  const micro = (s: string) => s as unknown as V1MicroTime;
  return {
    holderIdentity: r.holderIdentity,
    leaseDurationSeconds: r.leaseDurationSeconds,
    leaseTransitions: r.leaseTransitions,
    ...(r.acquireTime !== '' && { acquireTime: micro(r.acquireTime) }),
    ...(r.renewTime !== '' && { renewTime: micro(r.renewTime) }),
  };
}

/** A {@link LeaseStore} over the Lease `namespace/name`. */
export function leaseStore(api: LeaseApi, namespace: string, name: string): LeaseStore {
  // A PUT replaces the whole object: keep the labels and owners someone else may have put on the Lease.
  let kept: Pick<V1ObjectMeta, 'labels' | 'annotations' | 'ownerReferences'> = {};
  const stored = (lease: V1Lease): StoredLease => {
    const { labels, annotations, ownerReferences } = lease.metadata ?? {};
    kept = { ...(labels && { labels }), ...(annotations && { annotations }), ...(ownerReferences && { ownerReferences }) };
    return { record: toRecord(lease.spec), resourceVersion: lease.metadata?.resourceVersion ?? '' };
  };
  return {
    description: `${namespace}/${name}`,
    async get(signal) {
      try {
        return stored(await api.readNamespacedLease({ name, namespace }, abortable(signal)));
      } catch (err) {
        if (httpStatus(err) === 404) return undefined;
        throw err;
      }
    },
    async create(record, signal) {
      const body = { metadata: { name, namespace }, spec: toSpec(record) };
      return stored(await api.createNamespacedLease({ namespace, body, fieldManager: FIELD_MANAGER }, abortable(signal)));
    },
    async update(record, resourceVersion, signal) {
      const body = { metadata: { ...kept, name, namespace, resourceVersion }, spec: toSpec(record) };
      return stored(await api.replaceNamespacedLease({ name, namespace, body, fieldManager: FIELD_MANAGER }, abortable(signal)));
    },
  };
}

// ---- Metrics ----

/** What the elector reports; {@link createLeaderElectionMetrics} maps it onto client-go's metric names. */
export interface LeaderElectionMetrics {
  /** Leading (1) or following (0). */
  leading(on: boolean): void;
  /** A leader's renew could not use its last write and had to read the Lease first. */
  slowpath(): void;
}

/**
 * `leader_election_master_status{name}` and `leader_election_slowpath_total{name}` in `registry`
 * (controller-runtime's `pkg/metrics/leaderelection.go`), for the lease `name`. Several electors
 * may share one registry: the metrics are created once and reused.
 */
export function createLeaderElectionMetrics(registry: Registry, name: string): LeaderElectionMetrics {
  const status =
    (registry.getSingleMetric('leader_election_master_status') as Gauge<'name'> | undefined) ??
    new Gauge({
      name: 'leader_election_master_status',
      help: "Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master. 'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ['name'],
      registers: [registry],
    });
  const slowpath =
    (registry.getSingleMetric('leader_election_slowpath_total') as Counter<'name'> | undefined) ??
    new Counter({
      name: 'leader_election_slowpath_total',
      help: "Total number of slow path exercised in renewing leader leases. 'name' is the string used to identify the lease. Please make sure to group by name.",
      labelNames: ['name'],
      registers: [registry],
    });
  status.set({ name }, 0);
  slowpath.inc({ name }, 0);
  return { leading: (on) => status.set({ name }, on ? 1 : 0), slowpath: () => slowpath.inc({ name }) };
}

// ---- The elector ----

/** Time as the elector sees it; injectable for tests. */
export interface ElectionClock {
  /** Monotonic milliseconds: every timing decision. */
  now(): number;
  /** Milliseconds since the epoch: only written into renewTime/acquireTime, never compared. */
  wallNow(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: ElectionClock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

/** The slice of a pino logger the elector writes to. */
export interface LeaderElectionLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What the elector tells its owner. A throwing callback is rethrown outside the elector (an uncaught exception). */
export interface LeaderCallbacks {
  /** This replica became leader: start the leader-only work. */
  onStartedLeading(): void;
  /**
   * Leadership was lost (renew deadline passed, or the Lease names someone else): exit the process
   * now, without graceful shutdown, as controller-runtime does. Not called by `stop()` or `release()`.
   */
  onStoppedLeading(): void;
  /** The Lease was seen to change hands to `identity` (this replica's own included); a released Lease is not reported. */
  onNewLeader?(identity: string): void;
}

/** Options of {@link LeaderElector}; timings default to {@link DEFAULT_TIMINGS}. */
export interface LeaderElectorOptions extends Partial<LeaderElectionTimings> {
  store: LeaseStore;
  callbacks: LeaderCallbacks;
  /** Unique per replica; default {@link defaultIdentity}. */
  identity?: string;
  clock?: ElectionClock;
  /** Uniform random number in [0, 1) for the followers' jitter. */
  random?: () => number;
  log?: LeaderElectionLogger;
  metrics?: LeaderElectionMetrics;
}

/** `<hostname>_<uuid>`, as controller-runtime: unique even for two processes on one host. */
export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

const noLog: LeaderElectionLogger = { info: () => undefined, warn: () => undefined };

/** Campaigns for, holds and releases one Lease; single-use: once stopped, released or lost, it stays stopped. */
export class LeaderElector {
  readonly identity: string;
  readonly #store: LeaseStore;
  readonly #timings: LeaderElectionTimings;
  readonly #callbacks: LeaderCallbacks;
  readonly #clock: ElectionClock;
  readonly #random: () => number;
  readonly #log: LeaderElectionLogger;
  readonly #metrics: LeaderElectionMetrics | undefined;

  #observed: Observation | undefined;
  #leading = false;
  /** Local monotonic time at which the last successful acquire or renew request was sent. */
  #lastRenewAt = 0;
  #reportedLeader = '';
  #started = false;
  #stopped = false;
  #tickTimer: unknown;
  #deadlineTimer: unknown;
  #inFlight: AbortController | undefined;

  constructor(opts: LeaderElectorOptions) {
    this.#timings = {
      leaseDurationMs: opts.leaseDurationMs ?? DEFAULT_TIMINGS.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs ?? DEFAULT_TIMINGS.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs ?? DEFAULT_TIMINGS.retryPeriodMs,
    };
    validateTimings(this.#timings);
    this.identity = opts.identity ?? defaultIdentity();
    if (this.identity === '') throw new Error('leader election identity must not be empty');
    this.#store = opts.store;
    this.#callbacks = opts.callbacks;
    this.#clock = opts.clock ?? systemClock;
    this.#random = opts.random ?? Math.random;
    this.#log = opts.log ?? noLog;
    this.#metrics = opts.metrics;
  }

  /** Starts campaigning: the first attempt runs at once. */
  start(): void {
    if (this.#started) throw new Error(`leader elector ${this.identity} for Lease ${this.#store.description} was already started`);
    this.#started = true;
    this.#metrics?.leading(false);
    this.#log.info(this.#fields(), 'Started leader election for Lease');
    this.#schedule(0);
  }

  /** Whether this replica leads now; false as soon as the renew deadline has passed, even before its timer ran. */
  isLeader(): boolean {
    return this.#leading && !renewDeadlinePassed(this.#lastRenewAt, this.#clock.now(), this.#timings.renewDeadlineMs);
  }

  /** The holder last observed; '' when none is known. */
  leader(): string {
    return this.#observed?.record.holderIdentity ?? '';
  }

  /** Stops campaigning and renewing and leaves the Lease as it is (it expires as a crashed leader's would). */
  stop(): void {
    this.#halt();
  }

  /**
   * Stops, and if leading, hands the Lease back so a follower takes over within about a retry
   * period. Call it only after the leader-only work has stopped, and exit soon after. Resolves true
   * when the Lease was released; false when there was nothing to release or the write failed (logged).
   */
  async release(): Promise<boolean> {
    const leading = this.#leading;
    let current: StoredLease | undefined = this.#observed;
    this.#halt();
    if (!leading || current?.record.holderIdentity !== this.identity) return false;
    const ac = new AbortController();
    const timer = this.#clock.setTimeout(() => ac.abort(new Error(`releasing Lease ${this.#store.description} timed out`)), this.#timings.renewDeadlineMs);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await this.#store.update(releasedRecord(current.record, formatMicroTime(this.#clock.wallNow())), current.resourceVersion, ac.signal);
          this.#log.info(this.#fields(), 'Released Lease');
          return true;
        } catch (err) {
          // A renew aborted by the halt may still have reached the server and moved the resourceVersion on.
          if (httpStatus(err) !== 409 || attempt > 0) throw err;
          current = await this.#store.get(ac.signal);
          if (current?.record.holderIdentity !== this.identity) return false;
        }
      }
    } catch (err) {
      this.#log.warn({ ...this.#fields(), err }, 'Failed to release Lease');
      return false;
    } finally {
      this.#clock.clearTimeout(timer);
    }
  }

  #fields(): Record<string, string> {
    return { lease: this.#store.description, identity: this.identity };
  }

  #schedule(delayMs: number): void {
    this.#tickTimer = this.#clock.setTimeout(() => this.#tick(), delayMs);
  }

  #tick(): void {
    this.#tickTimer = undefined;
    if (this.#stopped) return;
    const ac = new AbortController();
    this.#inFlight = ac;
    const ms = this.#timings.renewDeadlineMs;
    const timeout = this.#clock.setTimeout(() => ac.abort(new Error(`request to Lease ${this.#store.description} timed out after ${ms} ms`)), ms);
    const wasLeading = this.#leading;
    void this.#attempt(ac.signal)
      .catch((err: unknown) => {
        if (this.#stopped) return;
        this.#log.warn({ ...this.#fields(), err }, wasLeading ? 'Failed to renew Lease' : 'Failed to acquire Lease');
      })
      .finally(() => {
        this.#clock.clearTimeout(timeout);
        if (this.#inFlight === ac) this.#inFlight = undefined;
        if (this.#stopped) return;
        const { retryPeriodMs } = this.#timings;
        this.#schedule(this.#leading ? retryPeriodMs : retryPeriodMs * (1 + JITTER_FACTOR * this.#random()));
      });
  }

  /** One round of client-go's tryAcquireOrRenew. */
  async #attempt(signal: AbortSignal): Promise<void> {
    const startedAt = this.#clock.now();
    const own = this.#observed;
    if (this.#leading && own !== undefined) {
      // Fast path: renew over our own last write, without reading first.
      try {
        const plan = this.#plan(own);
        if (plan.action === 'update') {
          this.#wrote(await this.#store.update(plan.record, plan.resourceVersion, signal), startedAt);
          return;
        }
      } catch (err) {
        if (this.#stopped) return;
        this.#metrics?.slowpath();
        this.#log.info({ ...this.#fields(), err }, 'Renewing Lease failed, reading it again');
      }
    }
    this.#see(await this.#store.get(signal));
    if (this.#stopped) return;
    const plan = this.#plan(this.#observed);
    if (plan.action === 'wait') return;
    try {
      const written = plan.action === 'create' ? await this.#store.create(plan.record, signal) : await this.#store.update(plan.record, plan.resourceVersion, signal);
      if (!this.#stopped) this.#wrote(written, startedAt);
    } catch (err) {
      if (this.#stopped || httpStatus(err) !== 409) throw err;
      // Another candidate wrote first: read who won, so that onNewLeader fires now.
      const winner = await this.#store.get(signal);
      if (!this.#stopped) this.#see(winner);
    }
  }

  #plan(observed: Observation | undefined): LeasePlan {
    const { leaseDurationMs } = this.#timings;
    return planAcquireOrRenew({ identity: this.identity, observed, now: this.#clock.now(), wallTime: formatMicroTime(this.#clock.wallNow()), leaseDurationMs });
  }

  /** A read: update the observation; a leader that no longer holds the Lease stops at once. */
  #see(stored: StoredLease | undefined): void {
    this.#observed = stored === undefined ? undefined : observe(this.#observed, stored, this.#clock.now());
    const holder = stored?.record.holderIdentity ?? '';
    if (this.#leading && holder !== this.identity) {
      this.#lose(holder === '' ? 'the Lease was released or deleted by someone else' : `the Lease is held by ${holder}`);
      return;
    }
    this.#report(holder);
  }

  /** Our write succeeded: acquired, or renewed. */
  #wrote(stored: StoredLease, startedAt: number): void {
    this.#observed = observe(this.#observed, stored, this.#clock.now());
    if (this.#leading) {
      // A renew that returns after the deadline does not count: leadership already ended then.
      if (renewDeadlinePassed(this.#lastRenewAt, this.#clock.now(), this.#timings.renewDeadlineMs)) {
        this.#lose(`not renewed within ${this.#timings.renewDeadlineMs} ms`);
        return;
      }
      this.#lastRenewAt = startedAt;
      this.#armDeadline();
      return;
    }
    this.#leading = true;
    this.#lastRenewAt = startedAt;
    this.#armDeadline();
    this.#metrics?.leading(true);
    this.#log.info({ ...this.#fields(), leaseTransitions: stored.record.leaseTransitions }, 'Acquired Lease');
    this.#call(() => this.#callbacks.onStartedLeading());
    this.#report(this.identity);
  }

  #report(holder: string): void {
    if (holder === this.#reportedLeader) return;
    this.#reportedLeader = holder;
    if (holder === '') return;
    if (holder !== this.identity) this.#log.info({ ...this.#fields(), leader: holder }, 'Observed new leader of Lease');
    if (this.#callbacks.onNewLeader) this.#call(() => this.#callbacks.onNewLeader?.(holder));
  }

  #armDeadline(): void {
    this.#clock.clearTimeout(this.#deadlineTimer);
    const wait = this.#lastRenewAt + this.#timings.renewDeadlineMs - this.#clock.now();
    this.#deadlineTimer = this.#clock.setTimeout(() => {
      this.#deadlineTimer = undefined;
      if (!this.#leading || this.#stopped) return;
      if (renewDeadlinePassed(this.#lastRenewAt, this.#clock.now(), this.#timings.renewDeadlineMs)) this.#lose(`not renewed within ${this.#timings.renewDeadlineMs} ms`);
      else this.#armDeadline();
    }, Math.max(0, wait));
  }

  #lose(reason: string): void {
    const sinceRenewMs = Math.round(this.#clock.now() - this.#lastRenewAt);
    this.#halt();
    this.#log.warn({ ...this.#fields(), reason, sinceRenewMs }, 'Lost leadership of Lease');
    this.#call(() => this.#callbacks.onStoppedLeading());
  }

  /** Ends everything: no timer left, the request in flight aborted, not leading. */
  #halt(): void {
    this.#stopped = true;
    this.#leading = false;
    this.#clock.clearTimeout(this.#tickTimer);
    this.#clock.clearTimeout(this.#deadlineTimer);
    this.#tickTimer = undefined;
    this.#deadlineTimer = undefined;
    this.#inFlight?.abort(new Error(`leader election for Lease ${this.#store.description} stopped`));
    this.#inFlight = undefined;
    if (this.#started) this.#metrics?.leading(false);
  }

  /** Runs a callback; what it throws surfaces as an uncaught exception, after the elector's state is consistent. */
  #call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      queueMicrotask(() => {
        throw err;
      });
    }
  }
}
