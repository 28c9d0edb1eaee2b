import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { absentReason, type ProviderFacts } from './provider-presence.ts';
import { isProviderLevel } from './providers.ts';

const dir = '/x/onnxruntime-node/bin/napi-v6/linux/x64';
const bare: ProviderFacts = { platform: 'linux', libraryDir: dir, libraries: ['libonnxruntime.so.1', 'onnxruntime_binding.node'], vulkanDrivers: [] };
const gpu: ProviderFacts = {
  ...bare,
  libraries: [...bare.libraries, 'libonnxruntime_providers_shared.so', 'libonnxruntime_providers_cuda.so', 'libonnxruntime_providers_tensorrt.so'],
  vulkanDrivers: ['/usr/share/vulkan/icd.d/nvidia_icd.json'],
};

describe('absentReason', () => {
  it('names the missing CUDA provider libraries and where they were looked for', () => {
    assert.equal(absentReason('cuda', bare), `libonnxruntime_providers_shared.so, libonnxruntime_providers_cuda.so not installed in ${dir} (see README, "GPU images")`);
    assert.match(absentReason('tensorrt', bare) ?? '', /libonnxruntime_providers_tensorrt\.so/);
  });
  it('needs only the TensorRT library itself when CUDA is installed but TensorRT is not', () => {
    const cudaOnly = { ...gpu, libraries: gpu.libraries.filter((l) => !l.includes('tensorrt')) };
    assert.equal(absentReason('cuda', cudaOnly), undefined);
    assert.match(absentReason('tensorrt', cudaOnly) ?? '', /^libonnxruntime_providers_tensorrt\.so not installed/);
  });
  it('skips WebGPU without a Vulkan driver manifest, and leaves it to a session with one', () => {
    assert.match(absentReason('webgpu', bare) ?? '', /no Vulkan driver/);
    assert.equal(absentReason('webgpu', gpu), undefined);
  });
  it('never skips the CPU, and decides nothing off Linux or without the library folder', () => {
    assert.equal(absentReason('cpu', bare), undefined);
    assert.equal(absentReason('cuda', { ...bare, platform: 'win32' }), undefined);
    assert.equal(absentReason('cuda', { ...bare, libraryDir: undefined }), undefined);
  });
});

describe('isProviderLevel', () => {
  it('tells a provider that cannot load from a failure of one precision', () => {
    assert.equal(isProviderLevel('OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library'), true);
    assert.equal(isProviderLevel('lambda Failed to get a WebGPU adapter'), true);
    assert.equal(isProviderLevel('Could not find an implementation for Conv(11) node with name conv0 (float16)'), false);
  });
});
