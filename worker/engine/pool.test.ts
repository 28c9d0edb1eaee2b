/**
 * Dynamic dispatch with real sessions of very different speeds: the real realesr-general-x4v3 on
 * one thread (slow) beside a nearest-neighbour x4 model (fast). Every item must come back exactly
 * once, and the fast session must take most of the work instead of alternating (round robin).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { modelPath } from '../../models/catalogue.ts';
import { encodeOnnxModel } from '../../models/onnx/schema.ts';
import { SessionPool } from './pool.ts';
import type { WorkItem } from './pool.ts';
import { SessionClient } from './session-client.ts';
import { sessionOptionsFor } from './session-options.ts';
import { nearestUpscaler } from './test-models.ts';

const EDGE = 32;
const options = sessionOptionsFor({ provider: 'cpu', deviceId: 0, threads: 1, logSeverityLevel: 3 });

describe('SessionPool', () => {
  let slow: SessionClient;
  let fast: SessionClient;
  before(async () => {
    slow = await SessionClient.start({ modelBytes: await readFile(modelPath('realesr-general-x4v3', 'fp32')), sessionOptions: options, label: 'slow:0' });
    fast = await SessionClient.start({ modelBytes: encodeOnnxModel(nearestUpscaler(4)), sessionOptions: options, label: 'fast:1' });
  });
  after(async () => {
    await slow.close();
    await fast.close();
  });

  it('sends work to whichever session is free, losing and duplicating nothing', async () => {
    const pool = new SessionPool([slow, fast], { maxBatch: 1, maxPixels: EDGE * EDGE, prefetch: 1 }, pino({ level: 'silent' }));
    const delivered = new Map<number, string[]>();
    const count = 40;
    await new Promise<void>((resolve, reject) => {
      let left = count;
      const items = Array.from({ length: count }, (_, k): WorkItem => ({
        shapeKey: 'same',
        pixels: EDGE * EDGE,
        width: EDGE,
        height: EDGE,
        outputSize: undefined,
        outputBytes: EDGE * 4 * EDGE * 4 * 3,
        isCancelled: () => false,
        // Each input is a flat grey of its own level (6 apart); both models keep a flat level (the
        // network within a grey level or two), so the output shows which item it belongs to.
        fill: (target, offset) => target.fill(k * 6, offset, offset + EDGE * EDGE * 3),
        deliver: (output, offset, device) => {
          assert.ok(Math.abs((output[offset] ?? 0) - k * 6) <= 2, `item ${k} on ${device} came back as level ${output[offset]}`);
          delivered.set(k, [...(delivered.get(k) ?? []), device]);
          if (--left === 0) resolve();
        },
        fail: (error) => reject(error),
      }));
      pool.submit(items);
    });
    assert.equal(delivered.size, count);
    assert.ok([...delivered.values()].every((devices) => devices.length === 1), 'each item delivered once');
    const [slowStats, fastStats] = pool.stats;
    assert.equal((slowStats?.images ?? 0) + (fastStats?.images ?? 0), count);
    // Round robin would give each 20; the slow session runs a real network and should get few.
    assert.ok((fastStats?.images ?? 0) > 30, `fast ${fastStats?.images}, slow ${slowStats?.images}`);
    assert.ok((slowStats?.images ?? 0) >= 1, 'the slow session still works');
  });
});
