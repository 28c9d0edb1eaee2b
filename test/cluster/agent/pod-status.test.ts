import { test } from 'node:test';
import assert from 'node:assert/strict';
import { podConditions, statusPatch, terminalPhase, type PodRecord } from './pod-status.ts';

const t0 = new Date('2026-01-01T00:00:00Z');
const t1 = new Date('2026-01-01T00:00:05Z');

function record(exitCodes: (number | 'running')[]): PodRecord {
  return {
    phase: 'Running',
    startTime: t0,
    sandboxReady: true,
    initContainers: [],
    containers: exitCodes.map((code, i) => ({
      name: `c${i}`,
      image: 'busybox',
      restartCount: 0,
      state:
        code === 'running'
          ? { kind: 'running', startedAt: t0, containerID: `agent://c${i}` }
          : { kind: 'terminated', terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: t0, finishedAt: t1, containerID: `agent://c${i}` } },
    })),
  };
}

test('a pod succeeds only when every container exited 0', () => {
  assert.equal(terminalPhase(record([0, 0])), 'Succeeded');
  assert.equal(terminalPhase(record([0, 2])), 'Failed');
});

test('ready conditions follow running containers and keep their transition time', () => {
  const running = podConditions(record(['running']), [], t0);
  assert.equal(running.find((c) => c.type === 'Ready')?.status, 'True');
  const later = podConditions(record(['running']), running, t1);
  assert.equal(later.find((c) => c.type === 'Ready')?.lastTransitionTime, t0.toISOString());
  const done = podConditions({ ...record([0]), phase: 'Succeeded' }, later, t1);
  const ready = done.find((c) => c.type === 'Ready');
  assert.equal(ready?.status, 'False');
  assert.equal(ready?.reason, 'PodCompleted');
  assert.equal(ready?.lastTransitionTime, t1.toISOString());
});

test('the status patch carries exit codes and termination messages', () => {
  const rec = record([3]);
  const c = rec.containers[0];
  if (c?.state.kind === 'terminated') c.state.terminated.message = 'boom';
  const patch = statusPatch({ ...rec, phase: 'Failed' }, []);
  const statuses = patch.status['containerStatuses'] as { state: { terminated: { exitCode: number; message: string } } }[];
  assert.equal(patch.status['phase'], 'Failed');
  assert.equal(statuses[0]?.state.terminated.exitCode, 3);
  assert.equal(statuses[0]?.state.terminated.message, 'boom');
});
