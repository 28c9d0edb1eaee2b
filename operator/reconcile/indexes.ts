/**
 * Reads an Indexed Job's `status.completedIndexes` / `failedIndexes` ("1,3-5,7") and turns shard
 * completions into frames with the plan's run-length shard sizes, so progress costs no pod reads.
 */

/** Parses "1,3-5,7" into sorted unique indexes; malformed parts are skipped. */
export function parseIndexes(text: string | undefined): number[] {
  if (text === undefined || text.trim() === '') return [];
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(part);
    if (m === null) continue;
    const from = Number(m[1]);
    const to = m[2] === undefined ? from : Number(m[2]);
    for (let i = from; i <= to && i - from < 1_000_000; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** Counts the indexes in "1,3-5,7" without expanding them. */
export function countIndexes(text: string | undefined): number {
  return parseIndexes(text).length;
}

/** Shard sizes in plan order as `[frames, count]` runs, e.g. `[[300, 12], [150, 1]]`. */
export type ShardFrameRuns = ReadonlyArray<readonly [number, number]>;

/** Frames in the given shard indexes, from the plan's runs. */
export function framesIn(indexes: readonly number[], runs: ShardFrameRuns): number {
  let total = 0;
  for (const index of indexes) total += framesOfShard(index, runs) ?? 0;
  return total;
}

/** Frames of one shard, or undefined outside the plan. */
export function framesOfShard(index: number, runs: ShardFrameRuns): number | undefined {
  let first = 0;
  for (const [frames, count] of runs) {
    if (index < first + count) return frames;
    first += count;
  }
  return undefined;
}

/** Shards in a plan's runs. */
export function shardCount(runs: ShardFrameRuns): number {
  return runs.reduce((sum, [, count]) => sum + count, 0);
}
