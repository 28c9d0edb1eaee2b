import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { selectBatch } from './batcher.ts';

const item = (shapeKey: string, pixels = 100) => ({ shapeKey, pixels });
const limits = { maxBatch: 3, maxPixels: 1000, lookahead: 10 };

describe('selectBatch', () => {
  it('takes nothing from an empty queue', () => {
    assert.deepEqual(selectBatch([], limits), []);
  });

  it('takes the head and later items of the same shape, up to the batch size', () => {
    assert.deepEqual(selectBatch([item('a'), item('b'), item('a'), item('a'), item('a')], limits), [0, 2, 3]);
  });

  it('stops at the pixel limit but always takes the head', () => {
    assert.deepEqual(selectBatch([item('a', 600), item('a', 600)], limits), [0]);
    assert.deepEqual(selectBatch([item('a', 5000), item('a', 1)], limits), [0]);
  });

  it('looks no further than the lookahead', () => {
    assert.deepEqual(selectBatch([item('a'), item('b'), item('b'), item('a')], { ...limits, lookahead: 2 }), [0]);
  });
});
