/**
 * Pure: which sessions to open for a provider. One per visible GPU (times `sessionsPerDevice`) for
 * CUDA and TensorRT, only the first GPU when multi-GPU is off; one WebGPU adapter (the Node binding
 * cannot pick an adapter); `cpuSessions` sessions on the CPU, sharing its cores.
 */
import type { CpuDescription } from './devices.ts';
import type { VisibleGpu } from './gpu-inventory.ts';
import type { DeviceSlot } from './providers.ts';
import { deviceLabel } from './session-options.ts';
import type { ProviderName } from './session-options.ts';

export interface SlotRequest {
  readonly gpus: readonly VisibleGpu[];
  readonly cpu: CpuDescription;
  readonly enableMultiGpu: boolean;
  readonly sessionsPerDevice: number;
  readonly cpuSessions: number;
  readonly cpuThreads: number | undefined;
}

/** Threads for CPU-placed nodes of a GPU session (shape ops, anything the GPU provider lacks). */
const GPU_SESSION_THREADS = 2;

export function deviceSlots(provider: ProviderName, request: SlotRequest): DeviceSlot[] {
  const repeat = (slot: Omit<DeviceSlot, 'label'>, base: string, count: number): DeviceSlot[] =>
    Array.from({ length: count }, (_, k) => ({ ...slot, label: count > 1 ? `${base}#${k}` : base }));
  switch (provider) {
    case 'cpu': {
      const threads = request.cpuThreads ?? Math.max(1, Math.floor(request.cpu.cores / request.cpuSessions));
      return Array.from({ length: request.cpuSessions }, (_, k) => ({
        deviceId: k,
        label: deviceLabel('cpu', k),
        name: request.cpu.name,
        memoryFreeMiB: undefined,
        memoryTotalMiB: request.cpu.memoryMiB,
        threads,
      }));
    }
    case 'webgpu': {
      const gpu = request.gpus[0];
      return repeat({ deviceId: 0, name: gpu?.name ?? 'default WebGPU adapter', memoryFreeMiB: gpu?.memoryFreeMiB, memoryTotalMiB: gpu?.memoryTotalMiB, threads: GPU_SESSION_THREADS }, deviceLabel('webgpu', 0), request.sessionsPerDevice);
    }
    case 'cuda':
    case 'tensorrt': {
      // Without nvidia-smi we still try ordinal 0: the session creation is the real test.
      const gpus: readonly Pick<VisibleGpu, 'ordinal' | 'name' | 'memoryFreeMiB' | 'memoryTotalMiB'>[] =
        request.gpus.length > 0 ? request.gpus : [{ ordinal: 0, name: 'unknown GPU (nvidia-smi unavailable)', memoryFreeMiB: 0, memoryTotalMiB: 0 }];
      const used = request.enableMultiGpu ? gpus : gpus.slice(0, 1);
      return used.flatMap((gpu) =>
        repeat(
          {
            deviceId: gpu.ordinal,
            name: gpu.name,
            memoryFreeMiB: gpu.memoryFreeMiB > 0 ? gpu.memoryFreeMiB : undefined,
            memoryTotalMiB: gpu.memoryTotalMiB > 0 ? gpu.memoryTotalMiB : undefined,
            threads: GPU_SESSION_THREADS,
          }, deviceLabel(provider, gpu.ordinal), request.sessionsPerDevice),
      );
    }
  }
}
