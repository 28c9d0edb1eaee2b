import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { autoBatchSize, autoTileSize, isOutOfMemory, MIN_TILE_SIZE, onOutOfMemory, pixelsPerRun } from './memory-policy.ts';

describe('pixelsPerRun and autoTileSize', () => {
  it('gives an 80 GiB GPU untiled 720p frames of x4plus in fp16', () => {
    const pixels = pixelsPerRun({ architecture: 'RRDBNet', precision: 'fp16', deviceMemoryBytes: 80 * 2 ** 30, sessionsOnDevice: 1 });
    assert.ok(pixels > 1280 * 720, `${pixels} pixels`);
    assert.ok(autoTileSize(pixels, 16) > 1280);
  });

  it('plans smaller tiles for fp32, for the heavier model, and for shared memory', () => {
    const base = { architecture: 'SRVGGNetCompact', precision: 'fp16', deviceMemoryBytes: 8 * 2 ** 30, sessionsOnDevice: 1 } as const;
    const p = pixelsPerRun(base);
    assert.ok(pixelsPerRun({ ...base, precision: 'fp32' }) < p);
    assert.ok(pixelsPerRun({ ...base, architecture: 'RRDBNet' }) < p);
    assert.ok(pixelsPerRun({ ...base, sessionsOnDevice: 2 }) < p);
    assert.equal(pixelsPerRun({ ...base, architecture: undefined }), pixelsPerRun({ ...base, architecture: 'RRDBNet' }), 'unknown models are planned as the heavy one');
  });

  it('never goes below the minimum tile and rounds to multiples of 8', () => {
    assert.equal(autoTileSize(10, 16), MIN_TILE_SIZE);
    assert.equal(autoTileSize(300 * 300, 10) % 8, 0);
  });
});

describe('autoBatchSize', () => {
  it('batches on GPUs only', () => {
    assert.equal(autoBatchSize('cpu'), 1);
    assert.equal(autoBatchSize('cuda'), 4);
  });
});

describe('onOutOfMemory', () => {
  it('halves the batch first, then the tiles, then gives up', () => {
    assert.deepEqual(onOutOfMemory(4, 256, 1000), { action: 'shrink-batch', maxBatch: 2 });
    assert.deepEqual(onOutOfMemory(1, 256, 1000), { action: 'shrink-tiles', tileSize: 128 });
    assert.deepEqual(onOutOfMemory(1, 0, 720), { action: 'shrink-tiles', tileSize: 360 }, 'an untiled frame starts from its larger edge');
    assert.deepEqual(onOutOfMemory(1, 2048, 100), { action: 'shrink-tiles', tileSize: 50 }, 'a tile larger than the frame counts as the frame');
    assert.deepEqual(onOutOfMemory(1, 40, 1000), { action: 'fail' });
  });
});

describe('isOutOfMemory', () => {
  it('recognises the allocation failures of the CPU arena, CUDA, cuDNN and WebGPU', () => {
    for (const message of [
      'bfc_arena.cc:360 Failed to allocate memory for requested buffer of size 274877906944',
      'CUDA failure 2: out of memory ; GPU=0',
      'CUDNN failure 2: CUDNN_STATUS_ALLOC_FAILED',
      'std::bad_alloc',
      'Buffer size (4294967296) exceeds the max buffer size limit (2147483648).',
    ]) assert.ok(isOutOfMemory(message), message);
    assert.equal(isOutOfMemory('SpaceToDepth requires input height to be a multiple of block_size'), false);
  });
});
