import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { mapOrdered } from './ordered.ts';

describe('mapOrdered', () => {
  it('yields in input order although calls finish out of order, with at most `concurrency` in flight', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const delays = [30, 5, 20, 1, 15, 2, 25, 3];
    const out: number[] = [];
    for await (const v of mapOrdered(delays.keys(), async (i) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(delays[i] ?? 0);
      inFlight--;
      return i * 10;
    }, 3)) out.push(v);
    assert.deepEqual(out, [0, 10, 20, 30, 40, 50, 60, 70]);
    assert.equal(maxInFlight, 3);
  });

  it('does not read the source past the window while the consumer holds back (back-pressure)', async () => {
    let pulled = 0;
    function* source(): Generator<number> {
      for (let i = 0; i < 100; i++) {
        pulled++;
        yield i;
      }
    }
    const iterator = mapOrdered(source(), async (i) => i, 4);
    await iterator.next();
    await sleep(10);
    assert.ok(pulled <= 5, `pulled ${pulled} items for one result`);
    await iterator.return(undefined);
  });

  it('throws the first failure at its position and ends', async () => {
    const out: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const v of mapOrdered([1, 2, 3, 4], async (i) => {
          if (i === 3) throw new Error('frame 3 failed');
          return i;
        }, 2)) out.push(v);
      })(),
      /frame 3 failed/,
    );
    assert.deepEqual(out, [1, 2]);
  });
});
