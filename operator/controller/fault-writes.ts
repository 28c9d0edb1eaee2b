/**
 * Test-only fault injection: the operator kills itself right after its N-th API write, so a test can
 * land a crash exactly between two writes of a reconcile (after creating a Job, before writing the
 * status that records it; between assembly's writes). Set by UPSCALE_FAULT_DIE_AFTER_WRITES=N
 * (`test/e2e/faults-operator-kill.test.ts`); unset, the writes are used as they are, with no wrapper.
 * Never set it in production: the process exits with SIGKILL, as the OOM killer would end it.
 */
import type { KubeWrites } from './kube-writes.ts';

export const DIE_AFTER_WRITES_ENV = 'UPSCALE_FAULT_DIE_AFTER_WRITES';

/** N of UPSCALE_FAULT_DIE_AFTER_WRITES: undefined when unset or empty; throws naming the variable when not a whole number >= 1. */
export function parseDieAfterWrites(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${DIE_AFTER_WRITES_ENV} must be a whole number of API writes >= 1, got ${JSON.stringify(value)}`);
  return Number(value);
}

/**
 * `writes` that call `die(count, method)` once the `n`-th write has returned (succeeded or failed:
 * the API server may have applied a write whose reply was lost, which is exactly the case to test).
 * Later writes, if `die` returns, go through unchanged.
 */
export function dieAfterWrites(writes: KubeWrites, n: number, die: (count: number, method: string) => void): KubeWrites {
  let count = 0;
  const wrapped = {} as Record<string, unknown>;
  for (const method of Object.keys(writes) as Array<keyof KubeWrites>) {
    wrapped[method] = async (...args: unknown[]) => {
      try {
        return await (writes[method] as (...a: unknown[]) => Promise<unknown>).apply(writes, args);
      } finally {
        count++;
        if (count === n) die(count, method);
      }
    };
  }
  return wrapped as unknown as KubeWrites;
}
