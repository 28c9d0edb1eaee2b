/**
 * Run-length encoding of timestamps: `[firstPts, delta, count]` runs, frame k of a run having pts
 * `firstPts + k * delta`. The one encoder for both users: the probe's frame index (frame-index.ts,
 * where a constant-rate film is one run) and the encoder's `setpts` expression (setpts-expr.ts, a
 * term per run).
 */

/** `[firstPts, delta, count]`; a run of one frame has delta 0. */
export type PtsRun = [first: number, delta: number, count: number];

/**
 * Splits timestamps, in the order given, into runs of constant step. A run's second frame fixes its
 * step, so runs are greedy from the left: `0 10 20 25 30` is `[0,10,3] [25,5,2]`.
 */
export function ptsRuns(pts: readonly number[]): PtsRun[] {
  const runs: PtsRun[] = [];
  for (const p of pts) {
    const run = runs[runs.length - 1];
    if (run && run[2] === 1) {
      run[1] = p - run[0];
      run[2] = 2;
    } else if (run && run[0] + run[1] * run[2] === p) {
      run[2] += 1;
    } else {
      runs.push([p, 0, 1]);
    }
  }
  return runs;
}
