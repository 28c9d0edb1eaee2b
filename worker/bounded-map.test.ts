import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { mapBounded } from './bounded-map.ts';

describe('mapBounded', () => {
  it('keeps input order and never has more than the limit in flight', async () => {
    let inFlight = 0;
    let peak = 0;
    const got = await mapBounded(
      [5, 1, 4, 2, 3, 0],
      async (n) => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        for (let i = 0; i < n; i++) await tick(); // items finish out of order
        inFlight--;
        return n * 10;
      },
      2,
    );
    assert.deepEqual(got, [50, 10, 40, 20, 30, 0]);
    assert.equal(peak, 2);
  });

  it('starts nothing after a failure and rejects only once the calls in flight have settled', async () => {
    const started: number[] = [];
    const settled: number[] = [];
    await assert.rejects(
      mapBounded(
        [0, 1, 2, 3, 4],
        async (n) => {
          started.push(n);
          for (let i = 0; i < (n === 0 ? 5 : 1); i++) await tick();
          settled.push(n);
          if (n === 1) throw new Error('item 1 failed');
          return n;
        },
        2,
      ),
      /item 1 failed/,
    );
    assert.deepEqual(started, [0, 1], 'no call starts after the failure');
    assert.deepEqual(settled.sort(), [0, 1], 'the slow call in flight settled before the rejection');
  });

  it('returns an empty list for no items and refuses a limit that is not a positive integer', async () => {
    assert.deepEqual(await mapBounded([], async () => 1, 3), []);
    await assert.rejects(mapBounded([1], async (n) => n, 0), /concurrency limit 0 is not a positive integer/);
  });
});
