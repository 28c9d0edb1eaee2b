import { test } from 'node:test';
import assert from 'node:assert/strict';
import { GpuAllocator } from './gpu-allocator.ts';

test('containers of a pod get distinct devices', () => {
  const a = new GpuAllocator(4);
  const alloc = a.allocate('pod-a', [{ container: 'x', count: 1 }, { container: 'y', count: 2 }]);
  assert.deepEqual(alloc && Object.fromEntries(alloc), { x: [0], y: [1, 2] });
  assert.equal(a.free, 1);
});

test('no two pods share a device and a pod that does not fit gets nothing', () => {
  const a = new GpuAllocator(4);
  const first = a.allocate('a', [{ container: 'c', count: 3 }]);
  assert.deepEqual(first?.get('c'), [0, 1, 2]);
  assert.equal(a.allocate('b', [{ container: 'c', count: 2 }]), undefined);
  assert.deepEqual(a.allocate('c', [{ container: 'c', count: 1 }])?.get('c'), [3]);
  a.release('a');
  assert.deepEqual(a.allocate('b', [{ container: 'c', count: 2 }])?.get('c'), [0, 1]);
});

test('allocating again for the same pod returns its devices', () => {
  const a = new GpuAllocator(2);
  const first = a.allocate('a', [{ container: 'c', count: 1 }]);
  assert.equal(a.allocate('a', [{ container: 'c', count: 1 }]), first);
  assert.equal(a.free, 1);
});
