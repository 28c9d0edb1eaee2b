/**
 * The operator process's memory for the benchmarks: RSS and its peak from /proc (what the kernel
 * and a container limit count), and the V8 heap and external memory from the operator's own
 * /metrics (prom-client's default Node.js gauges), so a figure says where the RSS went.
 */
import { readFile } from 'node:fs/promises';
import { parseProm } from './prom-text.ts';

const MiB = 1024 * 1024;

/** VmRSS and VmHWM (the peak RSS) of a process, MiB. */
export async function rssMiB(pid: number): Promise<{ rss: number; peak: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** The V8 heap (used and allocated) and external memory now, MiB, from the operator's /metrics. */
export async function heapMiB(port: number): Promise<{ used: number; total: number; external: number }> {
  const samples = parseProm(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  const value = (name: string): number => (samples.find((s) => s.name === name)?.value ?? NaN) / MiB;
  return { used: value('nodejs_heap_size_used_bytes'), total: value('nodejs_heap_size_total_bytes'), external: value('nodejs_external_memory_bytes') };
}

/** `heap 41 of 52 MiB, external 20 MiB` for a report line. */
export function describeHeap(h: { used: number; total: number; external: number }): string {
  return `V8 heap ${h.used.toFixed(0)} MiB used of ${h.total.toFixed(0)} MiB, external ${h.external.toFixed(0)} MiB`;
}
