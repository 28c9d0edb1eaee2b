/**
 * The gate between native calls and the exit: the order on its own (JavaScript threads that hold
 * it), and the failure it exists for, with real ONNX Runtime: a process exiting while a session
 * thread is inside a run died with SIGABRT (8 in 8 without the gate).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { modelPath } from '../../models/catalogue.ts';
import { closeGatesAndWait, newGate, throughGate } from './native-gate.ts';

/** A thread that holds `gate` for `holdMs` (busy-waiting, as a native call would), once it holds it. */
async function holder(gate: SharedArrayBuffer, holdMs: number): Promise<Worker> {
  const body = `
    const { workerData, parentPort } = require('node:worker_threads');
    const cells = new Int32Array(workerData.gate);
    Atomics.store(cells, 0, 1);
    parentPort.postMessage('inside');
    const until = Date.now() + workerData.holdMs;
    while (Date.now() < until);
    Atomics.store(cells, 0, 0);
    Atomics.notify(cells, 0);`;
  const worker = new Worker(body, { eval: true, workerData: { gate, holdMs } });
  await new Promise((resolve) => worker.once('message', resolve));
  return worker;
}

describe('native gate', () => {
  it('waits for a call inside, and lets none start once closed', async () => {
    const gate = newGate();
    const worker = await holder(gate, 300);
    let told = 0;
    const waited = closeGatesAndWait([gate], 10_000, () => told++);
    assert.ok(waited >= 200, `waited ${waited.toFixed(0)} ms for a call of 300 ms`);
    assert.equal(told, 0, 'a call under a second is waited for quietly');
    let called = false;
    assert.equal(
      await throughGate(gate, async () => {
        called = true;
        return 1;
      }),
      undefined,
    );
    assert.equal(called, false, 'no call starts through a closed gate');
    await worker.terminate();
  });

  it('announces a long wait, and gives up after its limit', async () => {
    const gate = newGate();
    const worker = await holder(gate, 2500);
    let told = 0;
    const waited = closeGatesAndWait([gate], 1500, () => told++);
    assert.equal(told, 1);
    assert.ok(waited >= 1400 && waited < 2400, `gave up after ${waited.toFixed(0)} ms (limit 1500)`);
    await new Promise((resolve) => worker.once('exit', resolve));
  });

  it('passes calls through an open gate, and opens again after a call that threw', async () => {
    const gate = newGate();
    await assert.rejects(throughGate(gate, () => Promise.reject(new Error('boom'))), /boom/);
    assert.equal(await throughGate(gate, () => Promise.resolve(7)), 7);
    assert.equal(closeGatesAndWait([gate], 10, () => assert.fail('nothing is inside')) < 10, true);
  });
});

describe('a process exiting while a session thread runs', () => {
  it('exits with its own code, never SIGABRT from the binding', { timeout: 120_000 }, async () => {
    // Runs batches back to back on a real model and exits at a moment inside one of them.
    const script = `
      import { readFileSync } from 'node:fs';
      import { SessionClient } from ${JSON.stringify(new URL('./session-client.ts', import.meta.url).href)};
      const client = await SessionClient.start({ modelBytes: readFileSync(${JSON.stringify(modelPath('realesr-general-x4v3', 'fp32'))}), sessionOptions: { intraOpNumThreads: 1 }, label: 'cpu:0' });
      const frame = () => new Uint8Array(1 * 96 * 128 * 3);
      await client.run(frame(), [1, 96, 128, 3]);
      const started = performance.now();
      await client.run(frame(), [1, 96, 128, 3]);
      const runMs = performance.now() - started;
      void (async () => { for (;;) await client.run(frame(), [1, 96, 128, 3]); })();
      setTimeout(() => process.exit(3), Math.random() * runMs * 2);`;
    // A file, not --eval: a session thread inherits the process's flags, and --input-type refuses a file.
    const dir = await mkdtemp(join(tmpdir(), 'native-gate-'));
    const file = join(dir, 'exit-mid-run.mjs');
    await writeFile(file, script);
    const exits: string[] = [];
    for (let i = 0; i < 6; i++) {
      const child = spawn(process.execPath, [file], { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])));
      exits.push(signal ?? String(code));
      if (code !== 3) assert.fail(`exit ${signal ?? code}: ${stderr}`);
      assert.doesNotMatch(stderr, /terminate called|Napi::Error/);
    }
    await rm(dir, { recursive: true });
    assert.deepEqual(exits, ['3', '3', '3', '3', '3', '3']);
  });
});
