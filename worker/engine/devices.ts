/**
 * Device discovery: asks `nvidia-smi` which NVIDIA GPUs this process can use, and describes the
 * host CPU. The only place the engine runs an outside program.
 */
import { execFile } from 'node:child_process';
import os from 'node:os';
import { NVIDIA_SMI_FIELDS, parseNvidiaSmi, visibleGpus } from './gpu-inventory.ts';
import type { VisibleGpu } from './gpu-inventory.ts';

/** What discovery found; `note` says why no GPU was found, when none was. */
export interface GpuDiscovery {
  readonly gpus: readonly VisibleGpu[];
  readonly note?: string;
}

/** The CPU as the inventory line reports it. */
export interface CpuDescription {
  readonly name: string;
  readonly cores: number;
  readonly memoryMiB: number;
}

function run(command: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: timeoutMs, encoding: 'utf8' }, (error, stdout, stderr) => {
      if (error !== null) reject(new Error(`${command} failed: ${error.message}${stderr !== '' ? `: ${stderr.trim()}` : ''}`, { cause: error }));
      else resolve(stdout);
    });
  });
}

/**
 * Lists the NVIDIA GPUs visible to this process (CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES
 * applied). Never throws: a missing or failing nvidia-smi gives no GPUs and a note.
 *
 * An answer is reused for {@link FRESH_MS} (same PATH and visibility variables): a local run asks
 * for its worker count and again while its engine starts, and nvidia-smi takes 50-500 ms each time.
 */
export function discoverGpus(env: Readonly<Record<string, string | undefined>> = process.env): Promise<GpuDiscovery> {
  const key = JSON.stringify([env['PATH'], env['CUDA_VISIBLE_DEVICES'], env['NVIDIA_VISIBLE_DEVICES']]);
  const hit = recent.get(key);
  if (hit !== undefined && performance.now() - hit.at < FRESH_MS) return hit.answer;
  const answer = queryGpus(env);
  recent.set(key, { at: performance.now(), answer });
  return answer;
}

/** How long an nvidia-smi answer is reused; free memory, the one field that moves, is a hint. */
const FRESH_MS = 5_000;
const recent = new Map<string, { at: number; answer: Promise<GpuDiscovery> }>();

async function queryGpus(env: Readonly<Record<string, string | undefined>>): Promise<GpuDiscovery> {
  let csv: string;
  try {
    csv = await run('nvidia-smi', [`--query-gpu=${NVIDIA_SMI_FIELDS.join(',')}`, '--format=csv,noheader,nounits'], 10_000);
  } catch (error) {
    const message = ((error as Error).cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT' ? 'nvidia-smi is not installed' : (error as Error).message;
    return { gpus: [], note: message };
  }
  try {
    const gpus = visibleGpus(parseNvidiaSmi(csv), env);
    return gpus.length > 0 ? { gpus } : { gpus, note: 'nvidia-smi lists no GPU visible to this process (CUDA_VISIBLE_DEVICES / NVIDIA_VISIBLE_DEVICES)' };
  } catch (error) {
    return { gpus: [], note: (error as Error).message };
  }
}

/** The host CPU's model name, logical cores and memory. */
export function describeCpu(): CpuDescription {
  const cpus = os.cpus();
  return { name: cpus[0]?.model.trim() ?? 'unknown', cores: os.availableParallelism(), memoryMiB: Math.round(os.totalmem() / 2 ** 20) };
}
