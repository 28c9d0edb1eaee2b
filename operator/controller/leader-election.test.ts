import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import type { V1Lease } from '@kubernetes/client-node';
import {
  DEFAULT_TIMINGS,
  LeaderElector,
  createLeaderElectionMetrics,
  formatMicroTime,
  leaseStore,
  observe,
  planAcquireOrRenew,
  releasedRecord,
  validateTimings,
  type ElectionClock,
  type LeaderElectorOptions,
  type LeaseApi,
  type LeaseRecord,
  type LeaseStore,
  type Observation,
  type StoredLease,
} from './leader-election.ts';

// ---- Fakes: a virtual clock, and an in-memory "API server" with one client per elector ----

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Virtual time: timers run only inside `advance`, in deadline order; `jump` moves time without running them. */
class FakeClock implements ElectionClock {
  #t = 0;
  #seq = 0;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  readonly #wallStart = Date.UTC(2026, 11, 1, 12, 0, 0);

  now(): number {
    return this.#t;
  }
  wallNow(): number {
    return this.#wallStart + this.#t;
  }
  setTimeout(fn: () => void, ms: number): number {
    this.#timers.set(++this.#seq, { at: this.#t + ms, fn });
    return this.#seq;
  }
  clearTimeout(handle: unknown): void {
    if (typeof handle === 'number') this.#timers.delete(handle);
  }
  /** This clock `offsetMs` ahead (monotonic and wall alike), sharing its timers: a skewed replica. */
  skewed(offsetMs: number): ElectionClock {
    return {
      now: () => this.now() + offsetMs,
      wallNow: () => this.wallNow() + offsetMs,
      setTimeout: (fn, ms) => this.setTimeout(fn, ms),
      clearTimeout: (h) => this.clearTimeout(h),
    };
  }
  /** Moves time on without running timers, as a blocked event loop would. */
  jump(ms: number): void {
    this.#t += ms;
  }
  /** Runs every timer due within `ms`; timers due at the same instant run together, before promises settle. */
  async advance(ms: number): Promise<void> {
    const end = this.#t + ms;
    await flush();
    for (;;) {
      const due = [...this.#timers].filter(([, x]) => x.at <= end);
      if (due.length === 0) break;
      const at = Math.min(...due.map(([, x]) => x.at));
      this.#t = Math.max(this.#t, at);
      for (const [id, x] of due) {
        if (x.at !== at || !this.#timers.has(id)) continue;
        this.#timers.delete(id);
        x.fn();
      }
      await flush();
    }
    this.#t = end;
  }
}

const conflict = (): Error => Object.assign(new Error('injected conflict'), { code: 409 });

class FakeServer {
  lease: StoredLease | undefined;
  #rv = 0;
  readonly writes: { at: number; by: string; op: 'create' | 'update'; ok: boolean; record: LeaseRecord }[] = [];
  readonly clock: FakeClock;
  constructor(clock: FakeClock) {
    this.clock = clock;
  }

  put(record: LeaseRecord): StoredLease {
    this.lease = { record: { ...record }, resourceVersion: String(++this.#rv) };
    return structuredClone(this.lease);
  }
  client(name: string): FakeClient {
    return new FakeClient(this, name);
  }
}

/** One replica's connection: `mode` makes its requests fail or hang (until aborted). */
class FakeClient implements LeaseStore {
  readonly description = 'test/operator-lock';
  mode: 'ok' | 'fail' | 'hang' = 'ok';
  calls = 0;
  aborted = 0;
  readonly server: FakeServer;
  readonly name: string;
  constructor(server: FakeServer, name: string) {
    this.server = server;
    this.name = name;
  }

  get(signal: AbortSignal): Promise<StoredLease | undefined> {
    return this.#request(signal, () => (this.server.lease ? structuredClone(this.server.lease) : undefined));
  }
  create(record: LeaseRecord, signal: AbortSignal): Promise<StoredLease> {
    return this.#request(signal, () => this.#write('create', record, this.server.lease === undefined));
  }
  update(record: LeaseRecord, resourceVersion: string, signal: AbortSignal): Promise<StoredLease> {
    return this.#request(signal, () => this.#write('update', record, this.server.lease?.resourceVersion === resourceVersion));
  }

  #write(op: 'create' | 'update', record: LeaseRecord, ok: boolean): StoredLease {
    this.server.writes.push({ at: this.server.clock.now(), by: this.name, op, ok, record });
    if (!ok) throw conflict();
    return this.server.put(record);
  }

  #request<T>(signal: AbortSignal, fn: () => T): Promise<T> {
    this.calls++;
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    if (this.mode === 'fail') return Promise.reject(new Error('injected: connect ECONNREFUSED'));
    if (this.mode === 'hang') {
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          this.aborted++;
          reject(signal.reason as Error);
        });
      });
    }
    // The server acts at once, so requests sent in one instant are served in the order they were sent.
    return new Promise((resolve) => resolve(fn()));
  }
}

interface Candidate {
  elector: LeaderElector;
  client: FakeClient;
  events: string[];
  /** Virtual times of onStartedLeading / onStoppedLeading. */
  startedAt: number[];
  stoppedAt: number[];
  leading: boolean[];
  slowpaths: number;
  logs: { level: string; msg: string; obj: Record<string, unknown> }[];
}

function candidate(server: FakeServer, name: string, opts: Partial<LeaderElectorOptions> = {}): Candidate {
  const client = server.client(name);
  const clock = opts.clock ?? server.clock;
  const c: Candidate = { elector: undefined as unknown as LeaderElector, client, events: [], startedAt: [], stoppedAt: [], leading: [], slowpaths: 0, logs: [] };
  const log = (level: string) => (obj: object, msg: string) => c.logs.push({ level, msg, obj: obj as Record<string, unknown> });
  c.elector = new LeaderElector({
    store: client,
    identity: name,
    clock,
    random: () => 0,
    log: { info: log('info'), warn: log('warn') },
    metrics: { leading: (on) => c.leading.push(on), slowpath: () => c.slowpaths++ },
    callbacks: {
      onStartedLeading: () => {
        c.events.push('started');
        c.startedAt.push(server.clock.now());
      },
      onStoppedLeading: () => {
        c.events.push('stopped');
        c.stoppedAt.push(server.clock.now());
      },
      onNewLeader: (id) => c.events.push(`new:${id}`),
    },
    ...opts,
  });
  return c;
}

function setup(): { clock: FakeClock; server: FakeServer } {
  const clock = new FakeClock();
  return { clock, server: new FakeServer(clock) };
}

/** Advances in small steps until `cond` holds; returns the virtual time then. */
async function until(clock: FakeClock, cond: () => boolean, limitMs = 120_000, stepMs = 10): Promise<number> {
  for (let waited = 0; !cond(); waited += stepMs) {
    if (waited > limitMs) throw new Error(`condition not met within ${limitMs} virtual ms`);
    await clock.advance(stepMs);
  }
  return clock.now();
}

const WALL = formatMicroTime(Date.UTC(2026, 11, 1, 12, 0, 0));
const rec = (over: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity: 'other',
  leaseDurationSeconds: 15,
  acquireTime: '2026-12-01T11:00:00.000000Z',
  renewTime: '2026-12-01T11:59:00.000000Z',
  leaseTransitions: 3,
  ...over,
});
const seen = (record: LeaseRecord, observedAt: number, resourceVersion = '7'): Observation => ({ record, resourceVersion, observedAt });

// ---- The pure parts ----

test('timings are validated as leaseDuration > renewDeadline > 1.2 × retryPeriod', () => {
  validateTimings(DEFAULT_TIMINGS);
  validateTimings({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 });
  const bad = [
    { leaseDurationMs: 3000, renewDeadlineMs: 3000, retryPeriodMs: 500 },
    { leaseDurationMs: 3000, renewDeadlineMs: 600, retryPeriodMs: 500 },
    { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 10_000 },
  ];
  for (const t of bad) assert.throws(() => validateTimings(t), /leaseDuration > renewDeadline > 1\.2 × retryPeriod; got leaseDuration \d+ ms/);
  assert.throws(() => validateTimings({ leaseDurationMs: 2500, renewDeadlineMs: 2000, retryPeriodMs: 500 }), /whole seconds/);
  assert.throws(() => validateTimings({ leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 0 }), /positive/);
  const { server } = setup();
  assert.throws(() => candidate(server, 'a', { leaseDurationMs: 10_000 }), /leaseDuration > renewDeadline/);
});

test('MicroTime is RFC 3339 in UTC with six fractional digits', () => {
  assert.equal(formatMicroTime(Date.UTC(2026, 11, 1, 12, 0, 0, 123)), '2026-12-01T12:00:00.123000Z');
  assert.equal(formatMicroTime(Date.UTC(2026, 11, 1, 12, 0, 0) + 0.5), '2026-12-01T12:00:00.000500Z');
  assert.equal(formatMicroTime(Date.UTC(2026, 11, 1, 23, 59, 59, 999)), '2026-12-01T23:59:59.999000Z');
});

test('observing an unchanged record keeps its observation time, even under a new resourceVersion', () => {
  const first = observe(undefined, { record: rec(), resourceVersion: '1' }, 100);
  const again = observe(first, { record: rec(), resourceVersion: '2' }, 5000);
  assert.equal(again.observedAt, 100);
  assert.equal(again.resourceVersion, '2');
});

test('any change of holder, renewTime, acquireTime, transitions or duration restarts the observation time', () => {
  const first = observe(undefined, { record: rec(), resourceVersion: '1' }, 100);
  const changes: Partial<LeaseRecord>[] = [
    { holderIdentity: 'x' },
    { renewTime: '2026-12-01T11:59:02.000000Z' },
    { acquireTime: '2026-12-01T11:59:02.000000Z' },
    { leaseTransitions: 4 },
    { leaseDurationSeconds: 1 },
  ];
  for (const change of changes) assert.equal(observe(first, { record: rec(change), resourceVersion: '1' }, 5000).observedAt, 5000, JSON.stringify(change));
});

const plan = (observed: Observation | undefined, now: number) => planAcquireOrRenew({ identity: 'me', observed, now, wallTime: WALL, leaseDurationMs: 15_000 });

test('a missing Lease is created, held by us, with no transitions', () => {
  assert.deepEqual(plan(undefined, 0), {
    action: 'create',
    record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: WALL, renewTime: WALL, leaseTransitions: 0 },
  });
});

test('our own Lease is renewed over the observed resourceVersion, keeping acquireTime and transitions', () => {
  assert.deepEqual(plan(seen(rec({ holderIdentity: 'me' }), 0), 1000), {
    action: 'update',
    resourceVersion: '7',
    record: { ...rec({ holderIdentity: 'me' }), renewTime: WALL },
  });
});

test('a Lease held by another is waited on until leaseDuration after its last observed change, whatever its renewTime says', () => {
  // renewTime is an hour before WALL: comparing it with the local clock would call the lease expired.
  const held = seen(rec({ renewTime: '2026-12-01T11:00:00.000000Z' }), 10_000);
  assert.deepEqual(plan(held, 24_999), { action: 'wait', holder: 'other', expiresAt: 25_000 });
  const taken = plan(held, 25_000);
  assert.deepEqual(taken, {
    action: 'update',
    resourceVersion: '7',
    record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: WALL, renewTime: WALL, leaseTransitions: 4 },
  });
});

test('a released Lease is taken over at once, with one more transition', () => {
  const released = seen(releasedRecord(rec(), '2026-12-01T11:59:59.000000Z'), 10_000);
  assert.equal(released.record.holderIdentity, '');
  assert.equal(released.record.leaseDurationSeconds, 1);
  assert.equal(released.record.leaseTransitions, 3);
  const p = plan(released, 10_000);
  assert.equal(p.action, 'update');
  assert.equal(p.action === 'update' && p.record.leaseTransitions, 4);
});

test("the record's own leaseDurationSeconds governs expiry; a record without one falls back to ours", () => {
  assert.equal(plan(seen(rec({ leaseDurationSeconds: 40 }), 0), 39_999).action, 'wait');
  assert.equal(plan(seen(rec({ leaseDurationSeconds: 40 }), 0), 40_000).action, 'update');
  assert.equal(plan(seen(rec({ leaseDurationSeconds: 0 }), 0), 14_999).action, 'wait');
  assert.equal(plan(seen(rec({ leaseDurationSeconds: 0 }), 0), 15_000).action, 'update');
});

// ---- The elector, on the virtual clock ----

test('the first candidate creates the Lease and leads; a second one follows and learns the leader', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  await clock.advance(0);
  assert.equal(a.elector.isLeader(), true);
  assert.deepEqual(a.events, ['started', 'new:a']);
  assert.deepEqual(a.leading, [false, true]);
  assert.deepEqual(server.lease?.record, { holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: WALL, renewTime: WALL, leaseTransitions: 0 });
  const acquired = a.logs.find((l) => l.msg === 'Acquired Lease');
  assert.deepEqual(acquired?.obj, { lease: 'test/operator-lock', identity: 'a', leaseTransitions: 0 });

  b.elector.start();
  await clock.advance(0);
  assert.equal(b.elector.isLeader(), false);
  assert.equal(b.elector.leader(), 'a');
  assert.deepEqual(b.events, ['new:a']);
  assert.ok(b.logs.some((l) => l.msg === 'Observed new leader of Lease' && l.obj['leader'] === 'a' && l.obj['identity'] === 'b'));
  a.elector.stop();
  b.elector.stop();
});

test('the leader renews every retryPeriod and a follower an hour ahead never takes over while it does', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b', { clock: clock.skewed(3_600_000) });
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  await clock.advance(120_000);
  const renewals = server.writes.filter((w) => w.by === 'a' && w.op === 'update' && w.ok);
  assert.equal(renewals.length, 60);
  assert.deepEqual(
    renewals.slice(0, 3).map((w) => w.at),
    [2000, 4000, 6000],
  );
  assert.equal(server.lease?.record.holderIdentity, 'a');
  assert.equal(server.lease?.record.renewTime, formatMicroTime(clock.wallNow()));
  assert.equal(server.lease?.record.acquireTime, WALL, 'acquireTime stays that of the acquisition');
  assert.deepEqual(b.events, ['new:a']);
  assert.equal(server.writes.filter((w) => w.by === 'b').length, 0, 'the follower never tried to write');
  assert.equal(a.slowpaths, 0, 'renewals took the fast path, without reading first');
  a.elector.stop();
  b.elector.stop();
});

test("a crashed leader's Lease is taken over leaseDuration after the follower last saw it change, with one more transition", async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  await clock.advance(5000);
  a.elector.stop();
  const lastRenew = Math.max(...server.writes.filter((w) => w.by === 'a' && w.ok).map((w) => w.at));
  assert.equal(lastRenew, 4000);
  const takeover = await until(clock, () => b.elector.isLeader());
  // b polls every 2 s (no jitter here) and saw the renew of t=4 s at its poll of t=4 s or 6 s.
  assert.ok(takeover >= lastRenew + 15_000 && takeover <= lastRenew + 15_000 + 2000 + 2000, String(takeover));
  assert.deepEqual(server.lease?.record, {
    holderIdentity: 'b',
    leaseDurationSeconds: 15,
    acquireTime: formatMicroTime(clock.wallNow()),
    renewTime: formatMicroTime(clock.wallNow()),
    leaseTransitions: 1,
  });
  assert.deepEqual(b.events, ['new:a', 'started', 'new:b']);
  assert.deepEqual(a.events, ['started', 'new:a'], 'stop() is not a loss: no onStoppedLeading');
  assert.deepEqual(a.leading, [false, true, false]);
  b.elector.stop();
});

test('a leader that cannot renew stops exactly renewDeadline after its last successful renew, before anyone takes over', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  await clock.advance(3000);
  a.client.mode = 'fail';
  const lostAt = await until(clock, () => a.events.includes('stopped'));
  assert.equal(lostAt, 2000 + 10_000);
  assert.deepEqual(a.stoppedAt, [12_000]);
  assert.equal(a.elector.isLeader(), false);
  assert.deepEqual(a.leading, [false, true, false]);
  const loss = a.logs.find((l) => l.msg === 'Lost leadership of Lease');
  assert.equal(loss?.level, 'warn');
  assert.equal(loss?.obj['sinceRenewMs'], 10_000);
  assert.ok(a.logs.some((l) => l.msg === 'Failed to renew Lease' && l.obj['lease'] === 'test/operator-lock'));

  const callsAtLoss = a.client.calls;
  const takeover = await until(clock, () => b.elector.isLeader());
  assert.ok(takeover >= 2000 + 15_000, `b took over at ${takeover}`);
  assert.ok(takeover > lostAt);
  await clock.advance(30_000);
  assert.equal(a.client.calls, callsAtLoss, 'a lost elector makes no more requests');
  assert.deepEqual(a.events, ['started', 'new:a', 'stopped'], 'onStoppedLeading once');
  assert.equal(server.lease?.record.leaseTransitions, 1);
  b.elector.stop();
});

test('a renew request that hangs does not delay the loss: the leader stops at the deadline and the request is aborted', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  a.elector.start();
  await clock.advance(3000);
  a.client.mode = 'hang';
  const lostAt = await until(clock, () => a.events.includes('stopped'));
  assert.equal(lostAt, 12_000);
  assert.equal(a.client.aborted, 1);
});

test('isLeader() turns false once the renew deadline has passed, even before a blocked event loop runs the timer', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  a.elector.start();
  await clock.advance(0);
  assert.equal(a.elector.isLeader(), true);
  clock.jump(10_000);
  assert.equal(a.elector.isLeader(), false);
  await clock.advance(0);
  assert.deepEqual(a.events, ['started', 'new:a', 'stopped'], 'a renew answered after the deadline does not count');
});

test('a leader that finds the Lease held by someone else stops at once', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  a.elector.start();
  await clock.advance(1000);
  server.put(rec({ holderIdentity: 'intruder' }));
  const lostAt = await until(clock, () => a.events.includes('stopped'));
  assert.equal(lostAt, 2000, 'at the next renew');
  assert.equal(a.slowpaths, 1, 'the fast-path renew got 409 and read the Lease');
  assert.match(String(a.logs.find((l) => l.msg === 'Lost leadership of Lease')?.obj['reason']), /held by intruder/);
});

test('of two candidates racing for a missing Lease, one creates it and the other gets 409 and learns the winner', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  b.elector.start();
  await clock.advance(0);
  assert.deepEqual(
    server.writes.map((w) => [w.by, w.op, w.ok]),
    [
      ['a', 'create', true],
      ['b', 'create', false],
    ],
  );
  assert.equal(a.elector.isLeader(), true);
  assert.equal(b.elector.isLeader(), false);
  assert.deepEqual(b.events, ['new:a'], 'the loser read the Lease again at once');
  a.elector.stop();
  b.elector.stop();
});

test('of two followers racing for an expired Lease, the resourceVersion lets only one take it over', async () => {
  const { clock, server } = setup();
  server.put(rec({ holderIdentity: 'gone', leaseTransitions: 5 }));
  const b = candidate(server, 'b');
  const c = candidate(server, 'c');
  b.elector.start();
  c.elector.start();
  await until(clock, () => b.elector.isLeader() || c.elector.isLeader());
  assert.equal(clock.now(), 16_000, 'at the first poll after 15 s');
  assert.deepEqual(
    server.writes.map((w) => [w.by, w.ok]),
    [
      ['b', true],
      ['c', false],
    ],
  );
  assert.equal(c.elector.isLeader(), false);
  assert.deepEqual(c.events, ['new:gone', 'new:b']);
  assert.equal(server.lease?.record.leaseTransitions, 6);
  b.elector.stop();
  c.elector.stop();
});

test('release() clears the holder with a 1 s duration and the follower takes over at its next poll', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  await clock.advance(5000);
  assert.equal(await a.elector.release(), true);
  assert.deepEqual(server.lease?.record, {
    holderIdentity: '',
    leaseDurationSeconds: 1,
    acquireTime: formatMicroTime(clock.wallNow()),
    renewTime: formatMicroTime(clock.wallNow()),
    leaseTransitions: 0,
  });
  assert.equal(a.elector.isLeader(), false);
  assert.deepEqual(a.leading, [false, true, false]);
  assert.ok(a.logs.some((l) => l.msg === 'Released Lease' && l.obj['identity'] === 'a'));
  const takeover = await until(clock, () => b.elector.isLeader());
  assert.equal(takeover, 6000, "b's next poll");
  assert.equal(server.lease?.record.leaseTransitions, 1);
  assert.deepEqual(a.events, ['started', 'new:a'], 'a release is not a loss');
  await clock.advance(10_000);
  assert.equal(server.writes.filter((w) => w.by === 'a' && w.at > 5000).length, 0, 'a released elector stays stopped');
  b.elector.stop();
});

test('release() by a follower writes nothing', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  const b = candidate(server, 'b');
  a.elector.start();
  await clock.advance(0);
  b.elector.start();
  await clock.advance(0);
  const writes = server.writes.length;
  assert.equal(await b.elector.release(), false);
  assert.equal(server.writes.length, writes);
  assert.equal(server.lease?.record.holderIdentity, 'a');
  a.elector.stop();
});

test('release() retries once with a fresh resourceVersion when the Lease changed underneath but is still ours', async () => {
  const { clock, server } = setup();
  const a = candidate(server, 'a');
  a.elector.start();
  await clock.advance(0);
  // Same record, new resourceVersion: as after a renew that was aborted but reached the server.
  server.put(server.lease!.record);
  assert.equal(await a.elector.release(), true);
  assert.equal(server.lease?.record.holderIdentity, '');
  assert.deepEqual(
    server.writes.slice(1).map((w) => w.ok),
    [false, true],
  );
});

test('a follower retries after retryPeriod × (1 + 1.2 × random)', async () => {
  const { clock, server } = setup();
  server.put(rec({ holderIdentity: 'other' }));
  const b = candidate(server, 'b', { random: () => 0.5 });
  b.elector.start();
  await clock.advance(0);
  const calls = b.client.calls;
  await clock.advance(3199);
  assert.equal(b.client.calls, calls);
  await clock.advance(1);
  assert.equal(b.client.calls, calls + 1);
  b.elector.stop();
});

// ---- Adapters: metrics and the client-node Lease store ----

test('createLeaderElectionMetrics exposes leader_election_master_status{name} and can serve a second lease on one registry', async () => {
  const registry = new Registry();
  const m = createLeaderElectionMetrics(registry, 'upscale-operator');
  const other = createLeaderElectionMetrics(registry, 'other-lock');
  let text = await registry.metrics();
  assert.match(text, /^leader_election_master_status\{name="upscale-operator"\} 0$/m);
  assert.match(text, /^leader_election_slowpath_total\{name="upscale-operator"\} 0$/m);
  m.leading(true);
  other.slowpath();
  text = await registry.metrics();
  assert.match(text, /^leader_election_master_status\{name="upscale-operator"\} 1$/m);
  assert.match(text, /^leader_election_master_status\{name="other-lock"\} 0$/m);
  assert.match(text, /^leader_election_slowpath_total\{name="other-lock"\} 1$/m);
});

test('leaseStore writes MicroTime strings unchanged, keeps the Lease labels on update, and reads a missing Lease as undefined', async () => {
  const bodies: V1Lease[] = [];
  let existing: V1Lease | undefined;
  const api: LeaseApi = {
    readNamespacedLease: async () => {
      if (!existing) throw Object.assign(new Error('not found'), { code: 404 });
      return existing;
    },
    createNamespacedLease: async ({ body }) => {
      bodies.push(body);
      existing = { ...body, metadata: { ...body.metadata, labels: { team: 'gpu' }, resourceVersion: '1' } };
      return existing;
    },
    replaceNamespacedLease: async ({ body }) => {
      bodies.push(body);
      return { ...body, metadata: { ...body.metadata, resourceVersion: '2' } };
    },
  };
  const store = leaseStore(api, 'ns', 'lock');
  const signal = new AbortController().signal;
  assert.equal(await store.get(signal), undefined);
  const created = await store.create(rec({ holderIdentity: 'me', acquireTime: '2026-12-01T12:00:00.123456Z' }), signal);
  assert.equal(created.resourceVersion, '1');
  assert.equal(created.record.acquireTime, '2026-12-01T12:00:00.123456Z');
  assert.equal(JSON.stringify(bodies[0]?.spec?.acquireTime), '"2026-12-01T12:00:00.123456Z"');
  const updated = await store.update(releasedRecord(created.record, WALL), '1', signal);
  assert.deepEqual(bodies[1]?.metadata, { labels: { team: 'gpu' }, name: 'lock', namespace: 'ns', resourceVersion: '1' });
  assert.equal(updated.record.holderIdentity, '');
  assert.equal(updated.resourceVersion, '2');
  assert.equal(store.description, 'ns/lock');
});
