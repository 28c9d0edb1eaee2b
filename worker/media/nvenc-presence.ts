/**
 * Whether this machine can have NVENC at all, from the device nodes the NVIDIA driver creates
 * (`/dev/nvidiactl`, `/dev/nvidia0`, ...; WSL 2 exposes GPUs through `/dev/dxg`). Without any of
 * them a test encode cannot succeed, so the encoder choice skips it: two ffmpeg starts (some 0.3 s
 * on 2 cores) saved on every CPU-only run.
 */
import { readdirSync } from 'node:fs';

/** True when `devDir` holds a device node of the NVIDIA driver (or WSL's GPU bridge). */
export function mayHaveNvenc(devDir = '/dev'): boolean {
  let names: string[];
  try {
    names = readdirSync(devDir);
  } catch {
    return true; // cannot tell: let the test encode decide
  }
  return names.some((n) => n === 'nvidiactl' || /^nvidia\d+$/.test(n) || n === 'dxg');
}
