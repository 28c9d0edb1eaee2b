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

const BLOCK = 4;
const BLOCKS_PER_ROW = EDGE / BLOCK;

/** An EDGE x EDGE RGB frame at `offset`: black, with block `k` (row-major, BLOCK x BLOCK) white. */
function fillBlock(target: Uint8Array, offset: number, k: number): void {
  target.fill(0, offset, offset + EDGE * EDGE * 3);
  const [bx, by] = [k % BLOCKS_PER_ROW, Math.floor(k / BLOCKS_PER_ROW)];
  for (let y = by * BLOCK; y < (by + 1) * BLOCK; y++) {
    const row = offset + (y * EDGE + bx * BLOCK) * 3;
    target.fill(255, row, row + BLOCK * 3);
  }
}

/** The block (of the same grid, scaled to an `edge` x `edge` frame) with the largest sum. */
function brightestBlock(frame: Uint8Array, offset: number, edge: number): number {
  const block = (edge / EDGE) * BLOCK;
  const sums = new Array<number>(BLOCKS_PER_ROW * BLOCKS_PER_ROW).fill(0);
  for (let y = 0; y < edge; y++) {
    for (let x = 0; x < edge; x++) {
      const i = Math.floor(y / block) * BLOCKS_PER_ROW + Math.floor(x / block);
      const p = offset + (y * edge + x) * 3;
      sums[i] = (sums[i] as number) + (frame[p] as number) + (frame[p + 1] as number) + (frame[p + 2] as number);
    }
  }
  return sums.indexOf(Math.max(...sums));
}

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

  it('sends work to whichever session is free, losing and duplicating nothing', async (t) => {
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
        // Each input is black with one white block of its own (block k of 64); both models keep
        // where the white is (a flat grey level is not kept: the network moves one by up to 12
        // levels), so the output shows which item it belongs to.
        fill: (target, offset) => fillBlock(target, offset, k),
        deliver: (output, offset, device) => {
          const found = brightestBlock(output, offset, EDGE * 4);
          assert.equal(found, k, `item ${k} on ${device} came back as item ${found}`);
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
    t.diagnostic(`fast ${fastStats?.images}, slow ${slowStats?.images}`);
    assert.equal((slowStats?.images ?? 0) + (fastStats?.images ?? 0), count);
    // Round robin would give each 20; the slow session runs a real network and should get few.
    assert.ok((fastStats?.images ?? 0) > 30, `fast ${fastStats?.images}, slow ${slowStats?.images}`);
    assert.ok((slowStats?.images ?? 0) >= 1, 'the slow session still works');
  });
});
