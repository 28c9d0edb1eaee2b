/**
 * Pure choice of ONNX Runtime session options per execution provider. What the Node binding lets
 * us set is limited (perf-anchors.md §2): CUDA and TensorRT take only `deviceId`; WebGPU takes a
 * layout and validation/buffer-cache modes; the CPU takes threads and arena settings.
 */
import type { InferenceSession } from 'onnxruntime-node';

/** Execution providers the engine knows, fastest first (the order `auto` tries them in). */
export const PROVIDERS = ['tensorrt', 'cuda', 'webgpu', 'cpu'] as const;
export type ProviderName = (typeof PROVIDERS)[number];

/** Providers that run on a GPU (fp16 is their `auto` precision). */
export function isGpuProvider(provider: ProviderName): boolean {
  return provider !== 'cpu';
}

/** Providers that can address one of several NVIDIA GPUs by CUDA ordinal. */
export function isCudaProvider(provider: ProviderName): boolean {
  return provider === 'tensorrt' || provider === 'cuda';
}

export interface SessionOptionsRequest {
  readonly provider: ProviderName;
  /** CUDA ordinal for `cuda`/`tensorrt`; ignored otherwise. */
  readonly deviceId: number;
  /** Intra-op threads: the CPU provider's compute threads; on GPU providers, threads for CPU-placed nodes. */
  readonly threads: number;
  /** ONNX Runtime log severity: 0 verbose .. 4 fatal. */
  readonly logSeverityLevel: 0 | 1 | 2 | 3 | 4;
}

/** Session options for one session. */
export function sessionOptionsFor(request: SessionOptionsRequest): InferenceSession.SessionOptions {
  const common = {
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    interOpNumThreads: 1,
    intraOpNumThreads: Math.max(1, request.threads),
    logSeverityLevel: request.logSeverityLevel,
  } as const;
  switch (request.provider) {
    case 'cpu':
      // The arena keeps activation buffers between runs of the same shape (every tile of a frame).
      return { ...common, executionProviders: [{ name: 'cpu', useArena: true }], enableCpuMemArena: true, enableMemPattern: true };
    case 'cuda':
      return { ...common, executionProviders: [{ name: 'cuda', deviceId: request.deviceId }] };
    case 'tensorrt':
      // Nodes TensorRT cannot take fall to CUDA rather than to the CPU.
      return { ...common, executionProviders: [{ name: 'tensorrt', deviceId: request.deviceId }, { name: 'cuda', deviceId: request.deviceId }] };
    case 'webgpu':
      return {
        ...common,
        executionProviders: [
          {
            name: 'webgpu',
            // Convolutions run NHWC on WebGPU; NHWC also saves the transposes around our NHWC I/O.
            preferredLayout: 'NHWC',
            // 'disabled' can crash the process on a WebGPU error (ORT JS docs); 'basic' is the default.
            validationMode: 'basic',
            storageBufferCacheMode: 'bucket',
          },
        ],
      };
  }
}

/** The label a device is reported under in logs and errors, e.g. `cuda:1`, `webgpu:0`, `cpu:0`. */
export function deviceLabel(provider: ProviderName, deviceId: number): string {
  return `${provider}:${deviceId}`;
}
