/**
 * V8 heap settings of the operator process, set by `upscale operator` before it loads the
 * operator's modules (bin/cli.ts). On a large node V8 sizes its heap for throughput, and the
 * operator's RSS was mostly heap it had grown and kept, not what it holds: at 100 jobs x 10 shards
 * the young generation had grown to 128 MiB (two 64 MiB semi-spaces) and the old space to twice
 * its live objects, for 416 MiB RSS over an 84 MiB heap. The operator allocates little per second
 * (watch events, reconciles), so small, often-collected spaces cost it no measurable CPU
 * (README "Performance": 22 s of CPU over the run either way).
 *
 * Set at run time because Node refuses these flags in NODE_OPTIONS and the image's entrypoint
 * runs `upscale` directly; both take effect when V8 next sizes a space.
 */
import { setFlagsFromString } from 'node:v8';

export const OPERATOR_V8_FLAGS: readonly string[] = [
  // The young generation no longer doubles up to V8's maximum for the machine (two 64 MiB
  // semi-spaces here); V8 still resizes it within a few MiB.
  '--semi-space-growth-factor=1',
  // After each full GC the old space may grow to 1.5x what survived, not V8's 2-4x.
  '--heap-growing-percent=50',
];

/** Applies {@link OPERATOR_V8_FLAGS} to this process. */
export function applyOperatorV8Flags(): void {
  for (const flag of OPERATOR_V8_FLAGS) setFlagsFromString(flag);
}
