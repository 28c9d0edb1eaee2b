/**
 * Reading Prometheus text exposition (the API server's and the operator's /metrics) for the
 * benchmarks: samples by name and labels, counter deltas grouped by labels, and a quantile of a
 * histogram from its cumulative buckets (the upper bound of the bucket holding it, as
 * `histogram_quantile` does without interpolation, so the figure is never below the truth).
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the text format; comment lines and unparsable lines are skipped. */
export function parseProm(text: string): Sample[] {
  const out: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
  for (const l of text.split('\n')) {
    if (l === '' || l.startsWith('#')) continue;
    const m = line.exec(l);
    if (m === null) continue;
    const labels: Record<string, string> = {};
    for (const lm of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1] as string] = (lm[2] as string).replace(/\\(.)/g, '$1');
    const value = Number(m[4]);
    if (Number.isFinite(value) || m[4] === '+Inf') out.push({ name: m[1] as string, labels, value });
  }
  return out;
}

/** Sum of `name` per key (`keyOf` the labels), after minus before. */
export function counterDelta(before: readonly Sample[], after: readonly Sample[], name: string, keyOf: (labels: Record<string, string>) => string): Map<string, number> {
  const sum = (samples: readonly Sample[]): Map<string, number> => {
    const m = new Map<string, number>();
    for (const s of samples) if (s.name === name) m.set(keyOf(s.labels), (m.get(keyOf(s.labels)) ?? 0) + s.value);
    return m;
  };
  const a = sum(after);
  const b = sum(before);
  const out = new Map<string, number>();
  for (const [k, v] of a) {
    const d = v - (b.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return out;
}

/** The q-quantile (0..1) of histogram `name` (its `_bucket` series summed over label sets), in its unit. */
export function histogramQuantile(samples: readonly Sample[], name: string, q: number): number | undefined {
  const buckets = new Map<number, number>();
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue;
    const le = s.labels['le'] === '+Inf' ? Infinity : Number(s.labels['le']);
    buckets.set(le, (buckets.get(le) ?? 0) + s.value);
  }
  const sorted = [...buckets].sort((a, b) => a[0] - b[0]);
  const total = sorted.at(-1)?.[1] ?? 0;
  if (total === 0) return undefined;
  const rank = q * total;
  return sorted.find(([, count]) => count >= rank)?.[0];
}
