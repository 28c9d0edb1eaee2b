/**
 * Execution provider choice by trial: `auto` walks TensorRT, CUDA, WebGPU, CPU and keeps the first
 * whose session really gets created (a provider whose libraries or device are missing fails right
 * there, and is logged with ONNX Runtime's reason); an explicit provider that fails is an error.
 * The sessions created on the way are the ones the engine then uses: a probe costs nothing extra.
 */
import type { Logger } from 'pino';
import type { Precision } from '../../models/catalogue.ts';
import type { SampleType } from '../../models/io-contract.ts';
import { UpscaleError } from '../errors.ts';
import { absentReason, gatherProviderFacts, type ProviderFacts } from './provider-presence.ts';
import { SessionClient } from './session-client.ts';
import { isGpuProvider, PROVIDERS, sessionOptionsFor } from './session-options.ts';
import type { ProviderName } from './session-options.ts';

export type ProviderChoice = ProviderName | 'auto';
export type PrecisionChoice = Precision | 'auto';

/** One session to open: a device (or, on the CPU, one of several sessions) and its label. */
export interface DeviceSlot {
  readonly deviceId: number;
  readonly label: string;
  readonly name: string;
  /** Free and total memory when known (nvidia-smi), else undefined. */
  readonly memoryFreeMiB: number | undefined;
  readonly memoryTotalMiB: number | undefined;
  readonly threads: number;
}

/** A model ready for a session of one precision. */
export interface PreparedModel {
  readonly bytes: Uint8Array;
  readonly precision: Precision | 'as-built';
  /** I/O element type (default uint8). */
  readonly samples?: SampleType;
}

/** Providers to try, in order. */
export function providerOrder(choice: ProviderChoice): readonly ProviderName[] {
  return choice === 'auto' ? PROVIDERS : [choice];
}

/**
 * Precisions to try on a provider: `auto` is fp16 then fp32 on GPUs (fp16 needs e.g. WebGPU's
 * shader-f16), fp32 on the CPU (no fp16 arithmetic there). A user's file has the one it was built with.
 */
export function precisionOrder(choice: PrecisionChoice, provider: ProviderName, fromCatalogue: boolean): readonly (Precision | 'as-built')[] {
  if (!fromCatalogue) return ['as-built'];
  if (choice !== 'auto') return [choice];
  return isGpuProvider(provider) ? ['fp16', 'fp32'] : ['fp32'];
}

/** ONNX Runtime's reason, without its source-file prefix and trailing blank lines. */
export function shortReason(message: string): string {
  const firstLine = message.split('\n').find((l) => l.trim() !== '') ?? message;
  return firstLine.replace(/^\/onnxruntime_src\/\S+ /, '').trim();
}

export interface SessionStartRequest {
  readonly provider: ProviderChoice;
  readonly precision: PrecisionChoice;
  readonly fromCatalogue: boolean;
  readonly prepareModel: (precision: Precision | 'as-built') => Promise<PreparedModel>;
  readonly devicesFor: (provider: ProviderName) => readonly DeviceSlot[];
  readonly log: Logger;
  /** What is installed (default: read from this machine); providers plainly absent are skipped untried. */
  readonly facts?: ProviderFacts;
}

export interface StartedSessions {
  readonly provider: ProviderName;
  readonly precision: Precision | 'as-built';
  readonly sessions: readonly SessionClient[];
  readonly slots: readonly DeviceSlot[];
  /** Providers/precisions tried before, with the reason each was skipped. */
  readonly skipped: readonly { provider: ProviderName; precision: string; reason: string }[];
}

function start(provider: ProviderName, slot: DeviceSlot, model: PreparedModel): Promise<SessionClient> {
  return SessionClient.start({
    modelBytes: model.bytes,
    sessionOptions: sessionOptionsFor({ provider, deviceId: slot.deviceId, threads: slot.threads, logSeverityLevel: 3 }),
    label: slot.label,
    samples: model.samples ?? 'uint8',
  });
}

/** A failure of the provider itself (its libraries, driver or adapter), not of one precision's model. */
export function isProviderLevel(reason: string): boolean {
  return /failed to load (shared )?librar|cannot open shared object|no (webgpu )?adapter|get a webgpu adapter|no (cuda-capable )?device|driver/i.test(reason);
}

/**
 * Creates one session per device slot of the first provider that works.
 * @throws UpscaleError `Unsupported` when an explicit provider is unavailable
 */
export async function startSessions(request: SessionStartRequest): Promise<StartedSessions> {
  const skipped: { provider: ProviderName; precision: string; reason: string }[] = [];
  const facts = request.facts ?? gatherProviderFacts();
  for (const provider of providerOrder(request.provider)) {
    const slots = request.devicesFor(provider);
    const [firstSlot] = slots;
    if (firstSlot === undefined) continue;
    // Only `auto` skips on what the disk shows: a provider the user named is always really tried.
    const absent = request.provider === 'auto' ? absentReason(provider, facts) : undefined;
    if (absent !== undefined) {
      skipped.push({ provider, precision: 'any', reason: absent });
      request.log.info({ provider, tried: false, reason: absent }, 'Skipped execution provider');
      continue;
    }
    for (const precision of precisionOrder(request.precision, provider, request.fromCatalogue)) {
      const model = await request.prepareModel(precision);
      let first: SessionClient;
      try {
        first = await start(provider, firstSlot, model);
      } catch (error) {
        const reason = shortReason((error as Error).message);
        skipped.push({ provider, precision, reason });
        request.log.info({ provider, precision, device: firstSlot.label, reason }, 'Skipped execution provider');
        // A provider that cannot load at all fails the same way at every precision: try it once.
        if (isProviderLevel(reason)) break;
        continue;
      }
      // The first session proved the provider; the other devices' sessions start together.
      const rest = await Promise.allSettled(slots.slice(1).map((slot) => start(provider, slot, model)));
      const sessions = [first];
      const used = [firstSlot];
      rest.forEach((result, i) => {
        const slot = slots[i + 1];
        if (slot === undefined) return;
        if (result.status === 'fulfilled') {
          sessions.push(result.value);
          used.push(slot);
        } else {
          request.log.warn({ provider, device: slot.label, reason: shortReason(String((result.reason as Error).message)) }, 'Skipped device whose session failed to start');
        }
      });
      return { provider, precision, sessions, slots: used, skipped };
    }
  }
  const reasons = skipped.map((s) => `${s.provider} (${s.precision}): ${s.reason}`).join('; ');
  if (request.provider !== 'auto') {
    throw new UpscaleError('Unsupported', `starting execution provider "${request.provider}": it is not available on this machine: ${reasons}`, { subject: request.provider });
  }
  throw new UpscaleError('Internal', `starting an execution provider: none could create a session: ${reasons}`, { subject: 'auto' });
}
