/**
 * The operator's leader election (operator/controller/leader-election.ts) against the real
 * kube-apiserver, with short timings (lease 3 s, renew deadline 2 s, retry 0.5 s): two electors on
 * one Lease, exactly one leads; `release()` hands over within about a retry period; a leader cut off
 * from the API server stops within renewDeadline + retryPeriod and the other takes over only after
 * leaseDuration; a follower whose clock is an hour ahead does not take over a Lease being renewed.
 * Times are measured with `performance.now()` and reported as test diagnostics.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { LeaderElector, leaseStore, systemClock, type LeaderElectorOptions, type LeaseApi } from '../../operator/controller/leader-election.ts';
import { useCluster, waitFor } from './harness.ts';

const cluster = await useCluster();
const LEASE = 'upscale-operator-leader';
const TIMINGS = { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 } as const;
const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const HOUR_MS = 3_600_000;

interface Replica {
  identity: string;
  elector: LeaderElector;
  /** `performance.now()` at each onStartedLeading / onStoppedLeading. */
  startedAt: number[];
  stoppedAt: number[];
  newLeaders: string[];
  logs: { level: 'info' | 'warn'; msg: string; obj: Record<string, unknown> }[];
  /** While true, every request of this replica fails, as if the API server were unreachable from it. */
  cutOff: boolean;
}

/** An elector with its own API client, wrapped so that the test can cut it off. */
function replica(t: TestContext, namespace: string, identity: string, opts: Partial<LeaderElectorOptions> = {}): Replica {
  const api = cluster.kc.makeApiClient(CoordinationV1Api);
  const r: Replica = { identity, elector: undefined as unknown as LeaderElector, startedAt: [], stoppedAt: [], newLeaders: [], logs: [], cutOff: false };
  const refused = (): Promise<never> => Promise.reject(new Error(`injected: API server unreachable from ${identity}`));
  const wrapped: LeaseApi = {
    readNamespacedLease: (param, options) => (r.cutOff ? refused() : api.readNamespacedLease(param, options)),
    createNamespacedLease: (param, options) => (r.cutOff ? refused() : api.createNamespacedLease(param, options)),
    replaceNamespacedLease: (param, options) => (r.cutOff ? refused() : api.replaceNamespacedLease(param, options)),
  };
  const log = (level: 'info' | 'warn') => (obj: object, msg: string) => r.logs.push({ level, msg, obj: obj as Record<string, unknown> });
  r.elector = new LeaderElector({
    store: leaseStore(wrapped, namespace, LEASE),
    identity,
    ...TIMINGS,
    log: { info: log('info'), warn: log('warn') },
    callbacks: {
      onStartedLeading: () => r.startedAt.push(performance.now()),
      onStoppedLeading: () => r.stoppedAt.push(performance.now()),
      onNewLeader: (id) => r.newLeaders.push(id),
    },
    ...opts,
  });
  t.after(() => r.elector.stop());
  return r;
}

/** Samples `isLeader()` of all replicas every 10 ms; `max` is the most that ever led at once. */
function sampleLeaders(t: TestContext, replicas: Replica[]): { max: number } {
  const seen = { max: 0 };
  const timer = setInterval(() => {
    seen.max = Math.max(seen.max, replicas.filter((r) => r.elector.isLeader()).length);
  }, 10);
  t.after(() => clearInterval(timer));
  return seen;
}

async function readLease(namespace: string): Promise<V1Lease> {
  return cluster.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: LEASE, namespace });
}

const leading = (r: Replica) => async () => r.elector.isLeader();
const ms = (x: number): string => `${Math.round(x)} ms`;

test('two electors on one Lease: exactly one leads, and release() hands the Lease to the other within about a retry period', async (t) => {
  const ns = await cluster.namespace(t);
  const a = replica(t, ns, 'replica-a');
  const b = replica(t, ns, 'replica-b');
  const leaders = sampleLeaders(t, [a, b]);
  a.elector.start();
  b.elector.start();
  const leader = await waitFor('a leader', async () => [a, b].find((r) => r.elector.isLeader()), 20_000, 10);
  const follower = leader === a ? b : a;

  // Two lease durations: the leader keeps renewing, the follower never takes over.
  await sleep(2 * TIMINGS.leaseDurationMs);
  assert.equal(leader.elector.isLeader(), true);
  assert.equal(follower.elector.isLeader(), false);
  assert.equal(leaders.max, 1);
  assert.deepEqual(follower.newLeaders, [leader.identity]);
  const held = await readLease(ns);
  assert.equal(held.spec?.holderIdentity, leader.identity);
  assert.equal(held.spec?.leaseTransitions, 0);
  assert.equal(held.spec?.leaseDurationSeconds, 3);
  assert.match(String(held.spec?.renewTime), MICRO_TIME);
  assert.match(String(held.spec?.acquireTime), MICRO_TIME);
  assert.notEqual(String(held.spec?.renewTime), String(held.spec?.acquireTime), 'the Lease was renewed since it was acquired');
  assert.ok(leader.logs.some((l) => l.msg === 'Acquired Lease' && l.obj['lease'] === `${ns}/${LEASE}` && l.obj['identity'] === leader.identity));
  assert.deepEqual([...a.logs, ...b.logs].filter((l) => l.level === 'warn' || l.msg.includes('failed')), [], 'no failed request while all is well');

  const t0 = performance.now();
  assert.equal(await leader.elector.release(), true);
  const releaseMs = performance.now() - t0;
  await waitFor('the follower to lead', leading(follower), 10_000, 10);
  const handoverMs = (follower.startedAt[0] ?? NaN) - t0;
  t.diagnostic(`hand-over after release(): ${ms(handoverMs)} (release() itself took ${ms(releaseMs)})`);
  assert.ok(handoverMs < 2000, `hand-over took ${ms(handoverMs)}`);
  assert.deepEqual(leader.stoppedAt, [], 'a release is not a loss: onStoppedLeading is not called');
  assert.equal(leader.elector.isLeader(), false);
  assert.equal(leaders.max, 1);
  assert.ok(leader.logs.some((l) => l.msg === 'Released Lease'));

  const taken = await readLease(ns);
  assert.equal(taken.spec?.holderIdentity, follower.identity);
  assert.equal(taken.spec?.leaseTransitions, 1);
  assert.equal(taken.spec?.leaseDurationSeconds, 3);

  // With nobody left to take it over, a released Lease can be seen as written.
  assert.equal(await follower.elector.release(), true);
  const released = await readLease(ns);
  assert.equal(released.spec?.holderIdentity, '');
  assert.equal(released.spec?.leaseDurationSeconds, 1);
  assert.equal(released.spec?.leaseTransitions, 1);
  assert.match(String(released.spec?.renewTime), MICRO_TIME);
});

test('a leader whose renewals fail stops within renewDeadline + retryPeriod, and the other takes over after leaseDuration', async (t) => {
  const ns = await cluster.namespace(t);
  const a = replica(t, ns, 'replica-a');
  const b = replica(t, ns, 'replica-b');
  const leaders = sampleLeaders(t, [a, b]);
  a.elector.start();
  await waitFor('a to lead', leading(a), 20_000, 10);
  b.elector.start();
  await waitFor('b to see a lead', async () => b.newLeaders.includes(a.identity), 20_000, 10);
  await sleep(1000);
  const before = await readLease(ns);

  a.cutOff = true;
  const t0 = performance.now();
  await waitFor('a to stop leading', async () => a.stoppedAt.length > 0, 10_000, 10);
  const lostMs = (a.stoppedAt[0] ?? NaN) - t0;
  assert.equal(a.elector.isLeader(), false);
  await waitFor('b to lead', leading(b), 20_000, 10);
  const takeoverMs = (b.startedAt[0] ?? NaN) - t0;
  t.diagnostic(`renewals failing from t0: the leader stopped after ${ms(lostMs)}, the other led after ${ms(takeoverMs)}`);
  assert.ok(lostMs <= TIMINGS.renewDeadlineMs + TIMINGS.retryPeriodMs, `the leader stopped after ${ms(lostMs)}`);
  // b times the lease from its own sight of a's last renew (at most one retry period before t0).
  assert.ok(takeoverMs >= TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs - 100, `b took over after ${ms(takeoverMs)}`);
  // At the latest: b saw that renew one jittered poll (≤ 2.2 retry periods) late, and polls again up to one more late.
  assert.ok(takeoverMs <= TIMINGS.leaseDurationMs + 2 * 2.2 * TIMINGS.retryPeriodMs + 1000, `b took over after ${ms(takeoverMs)}`);
  assert.ok((b.startedAt[0] ?? 0) > (a.stoppedAt[0] ?? Infinity), 'b led only after a had stopped');
  assert.equal(leaders.max, 1, 'never two leaders at once');
  assert.equal(a.stoppedAt.length, 1, 'onStoppedLeading once');
  assert.ok(a.logs.some((l) => l.msg === 'Lost leadership of Lease' && l.obj['identity'] === a.identity));

  const after = await readLease(ns);
  assert.equal(after.spec?.holderIdentity, b.identity);
  assert.equal(after.spec?.leaseTransitions, (before.spec?.leaseTransitions ?? NaN) + 1);
  assert.notEqual(String(after.spec?.acquireTime), String(before.spec?.acquireTime));
  assert.match(String(after.spec?.acquireTime), MICRO_TIME);
});

test('a follower whose clock is an hour ahead does not take over a Lease that is being renewed', async (t) => {
  const ns = await cluster.namespace(t);
  const a = replica(t, ns, 'replica-a');
  const skewed = { ...systemClock, now: () => performance.now() + HOUR_MS, wallNow: () => Date.now() + HOUR_MS };
  const b = replica(t, ns, 'replica-b-skewed', { clock: skewed });
  const leaders = sampleLeaders(t, [a, b]);
  a.elector.start();
  await waitFor('a to lead', leading(a), 20_000, 10);
  b.elector.start();
  await waitFor('b to see a lead', async () => b.newLeaders.includes(a.identity), 20_000, 10);

  await sleep(3 * TIMINGS.leaseDurationMs);
  const held = await readLease(ns);
  assert.equal(held.spec?.holderIdentity, a.identity);
  // What a naive elector would compare: by b's clock, a's renewTime is about an hour old.
  const renewAgeByB = skewed.wallNow() - Date.parse(String(held.spec?.renewTime));
  assert.ok(renewAgeByB > HOUR_MS - 10_000, String(renewAgeByB));
  assert.equal(b.elector.isLeader(), false);
  assert.deepEqual(b.startedAt, []);
  assert.equal(leaders.max, 1);

  // Once a stops renewing (a crash: no release), b takes over after about a lease duration.
  a.elector.stop();
  const t0 = performance.now();
  await waitFor('b to lead', leading(b), 20_000, 10);
  const takeoverMs = (b.startedAt[0] ?? NaN) - t0;
  t.diagnostic(`crashed leader (stop() without release): the skewed follower led after ${ms(takeoverMs)}`);
  assert.ok(takeoverMs >= TIMINGS.leaseDurationMs - TIMINGS.retryPeriodMs - 100, ms(takeoverMs));
  const taken = await readLease(ns);
  assert.equal(taken.spec?.holderIdentity, b.identity);
  assert.equal(taken.spec?.leaseTransitions, 1);
  // b writes its own (skewed) wall time; nobody compares it with a clock.
  assert.ok(Date.parse(String(taken.spec?.renewTime)) - Date.now() > HOUR_MS - 10_000);
});
