import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNvidiaSmi, visibleGpus } from './gpu-inventory.ts';

// As printed by `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.free,pci.bus_id --format=csv,noheader,nounits`.
const FOUR_GPUS = `0, GPU-aaaa1111-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 81559, 81000, 00000000:18:00.0
1, GPU-bbbb2222-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 81559, 80000, 00000000:2A:00.0
2, GPU-cccc3333-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 81559, 79000, 00000000:3A:00.0
3, GPU-dddd4444-0000-0000-0000-000000000000, NVIDIA H100 80GB HBM3, 81559, [N/A], 00000000:5D:00.0
`;

describe('parseNvidiaSmi', () => {
  it('reads every field and treats [N/A] memory as unknown (0)', () => {
    const gpus = parseNvidiaSmi(FOUR_GPUS);
    assert.equal(gpus.length, 4);
    assert.deepEqual(gpus[0], { index: 0, uuid: 'GPU-aaaa1111-0000-0000-0000-000000000000', name: 'NVIDIA H100 80GB HBM3', memoryTotalMiB: 81559, memoryFreeMiB: 81000, pciBusId: '00000000:18:00.0' });
    assert.equal(gpus[3]?.memoryFreeMiB, 0);
  });

  it('rejects a line with missing fields, naming it', () => {
    assert.throws(() => parseNvidiaSmi('0, GPU-x, NVIDIA H200\n'), /nvidia-smi line "0, GPU-x, NVIDIA H200" has 3 fields, expected 6/);
  });
});

describe('visibleGpus', () => {
  const gpus = parseNvidiaSmi(FOUR_GPUS);
  const view = (env: Record<string, string>): string[] => visibleGpus(gpus, env).map((g) => `${g.ordinal}=${g.index}`);

  it('sees every GPU when no variable is set', () => {
    assert.deepEqual(view({}), ['0=0', '1=1', '2=2', '3=3']);
  });

  it('numbers CUDA_VISIBLE_DEVICES in the order it lists them, as CUDA does', () => {
    assert.deepEqual(view({ CUDA_VISIBLE_DEVICES: '2,0' }), ['0=2', '1=0']);
  });

  it('accepts GPU UUIDs and unique UUID prefixes', () => {
    assert.deepEqual(view({ CUDA_VISIBLE_DEVICES: 'GPU-dddd4444-0000-0000-0000-000000000000,GPU-bbbb' }), ['0=3', '1=1']);
  });

  it('stops at the first invalid entry, as CUDA does', () => {
    assert.deepEqual(view({ CUDA_VISIBLE_DEVICES: '1,7,2' }), ['0=1']);
  });

  it('hides every GPU for an empty CUDA_VISIBLE_DEVICES or NVIDIA_VISIBLE_DEVICES=none', () => {
    assert.deepEqual(view({ CUDA_VISIBLE_DEVICES: '' }), []);
    assert.deepEqual(view({ NVIDIA_VISIBLE_DEVICES: 'none' }), []);
  });

  it('applies NVIDIA_VISIBLE_DEVICES indices on a host view and trusts the runtime inside a container', () => {
    assert.deepEqual(view({ NVIDIA_VISIBLE_DEVICES: '1,3' }), ['0=1', '1=3']);
    const inContainer = parseNvidiaSmi(FOUR_GPUS.split('\n').slice(0, 2).join('\n'));
    assert.deepEqual(visibleGpus(inContainer, { NVIDIA_VISIBLE_DEVICES: '2,3' }).map((g) => g.index), [0, 1]);
    assert.deepEqual(view({ NVIDIA_VISIBLE_DEVICES: 'all', CUDA_VISIBLE_DEVICES: '3' }), ['0=3']);
  });
});
