import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceSlots } from './device-slots.ts';
import { parseNvidiaSmi, visibleGpus } from './gpu-inventory.ts';
import { precisionOrder, providerOrder, shortReason } from './providers.ts';

const cpu = { name: 'Test CPU', cores: 8, memoryMiB: 16384 };
const gpus = visibleGpus(parseNvidiaSmi('0, GPU-a, NVIDIA H200, 143771, 140000, 0:1\n1, GPU-b, NVIDIA H200, 143771, 120000, 0:2\n'), {});
const base = { gpus, cpu, enableMultiGpu: true, sessionsPerDevice: 1, cpuSessions: 1, cpuThreads: undefined };

describe('providerOrder and precisionOrder', () => {
  it('tries TensorRT, CUDA, WebGPU, CPU for auto, and only the named one otherwise', () => {
    assert.deepEqual(providerOrder('auto'), ['tensorrt', 'cuda', 'webgpu', 'cpu']);
    assert.deepEqual(providerOrder('webgpu'), ['webgpu']);
  });
  it('prefers fp16 on GPUs, fp32 on the CPU, and takes a user file as built', () => {
    assert.deepEqual(precisionOrder('auto', 'cuda', true), ['fp16', 'fp32']);
    assert.deepEqual(precisionOrder('auto', 'cpu', true), ['fp32']);
    assert.deepEqual(precisionOrder('fp16', 'cpu', true), ['fp16']);
    assert.deepEqual(precisionOrder('fp16', 'cuda', false), ['as-built']);
  });
  it('shortens ONNX Runtime reasons to their first line without the source path', () => {
    assert.equal(shortReason('/onnxruntime_src/onnxruntime/core/providers/webgpu/webgpu_context.cc:136 lambda Failed to get a WebGPU adapter\n'), 'lambda Failed to get a WebGPU adapter');
  });
});

describe('deviceSlots', () => {
  it('opens one session per visible GPU for CUDA, numbered by CUDA ordinal', () => {
    assert.deepEqual(deviceSlots('cuda', base).map((s) => [s.label, s.deviceId, s.memoryFreeMiB]), [['cuda:0', 0, 140000], ['cuda:1', 1, 120000]]);
  });
  it('uses only the first GPU when multi-GPU is off', () => {
    assert.deepEqual(deviceSlots('tensorrt', { ...base, enableMultiGpu: false }).map((s) => s.label), ['tensorrt:0']);
  });
  it('repeats sessions per device when asked', () => {
    assert.deepEqual(deviceSlots('cuda', { ...base, sessionsPerDevice: 2 }).map((s) => s.label), ['cuda:0#0', 'cuda:0#1', 'cuda:1#0', 'cuda:1#1']);
  });
  it('still tries CUDA ordinal 0 when nvidia-smi found nothing', () => {
    assert.deepEqual(deviceSlots('cuda', { ...base, gpus: [] }).map((s) => s.deviceId), [0]);
  });
  it('opens one WebGPU session and splits the CPU cores among CPU sessions', () => {
    assert.deepEqual(deviceSlots('webgpu', base).map((s) => [s.label, s.name]), [['webgpu:0', 'NVIDIA H200']]);
    assert.deepEqual(deviceSlots('cpu', { ...base, cpuSessions: 2 }).map((s) => [s.label, s.threads]), [['cpu:0', 4], ['cpu:1', 4]]);
    assert.deepEqual(deviceSlots('cpu', { ...base, cpuThreads: 1 }).map((s) => s.threads), [1]);
  });
});
