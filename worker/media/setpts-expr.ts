/**
 * Builds an ffmpeg `setpts` expression that gives frame N of a shard an arbitrary, given timestamp.
 *
 * Why: raw frames reach the encoder through a pipe (`-f rawvideo`), which carries no timestamps, and
 * ffmpeg 5.1 has no option to read a timecode list. `setpts` can compute a pts from the frame number
 * N, so the shard's timestamps are written as runs of constant step (`first + (N - n0) * step`) joined
 * by a balanced tree of `if(lt(N, n), left, right)`. A constant-rate shard is one term; a
 * variable-rate one costs a term per change of frame duration, evaluated in O(log runs). The result
 * goes into a `-filter_script` file, so its length is not limited by the command line.
 * Values are integers below 2^53, exact in the expression evaluator's doubles.
 */

import { ptsRuns } from './pts-runs.ts';

interface Run {
  n0: number;
  first: number;
  step: number;
  count: number;
}

/** The runs of `pts` (pts-runs.ts), each with `n0`, the frame number it starts at. */
function numberedRuns(pts: readonly number[]): Run[] {
  let n0 = 0;
  return ptsRuns(pts).map(([first, step, count]) => {
    const run = { n0, first, step, count };
    n0 += count;
    return run;
  });
}

/** The expression for `setpts` giving frame N the timestamp `pts[N]` (in the filter's time base). */
export function setptsExpression(pts: readonly number[]): string {
  if (pts.length === 0) throw new RangeError('no timestamps');
  const runs = numberedRuns(pts);
  const build = (lo: number, hi: number): string => {
    if (hi - lo === 1) return leaf(runs[lo] as Run);
    const mid = (lo + hi) >> 1;
    return `if(lt(N,${(runs[mid] as Run).n0}),${build(lo, mid)},${build(mid, hi)})`;
  };
  return build(0, runs.length);
}

function leaf(r: Run): string {
  if (r.count === 1 || r.step === 0) return String(r.first);
  const n = r.n0 === 0 ? 'N' : `(N-${r.n0})`;
  return `${r.first}+${n}*${r.step}`;
}

/** Evaluates an expression from {@link setptsExpression} for frame `n` (tests use it as an oracle). */
export function evaluateSetpts(expr: string, n: number): number {
  let i = 0;
  const num = (): number => {
    const m = /^-?\d+/.exec(expr.slice(i));
    if (!m) throw new SyntaxError(`number expected at ${i}: ${expr.slice(i, i + 20)}`);
    i += m[0].length;
    return Number(m[0]);
  };
  const eat = (s: string): void => {
    if (!expr.startsWith(s, i)) throw new SyntaxError(`'${s}' expected at ${i}`);
    i += s.length;
  };
  const term = (): number => {
    if (expr.startsWith('if(', i)) {
      eat('if(lt(N,');
      const bound = num();
      eat('),');
      const a = term();
      eat(',');
      const b = term();
      eat(')');
      return n < bound ? a : b;
    }
    const first = num();
    if (!expr.startsWith('+', i)) return first;
    eat('+');
    let k = n;
    if (expr.startsWith('(N-', i)) {
      eat('(N-');
      k = n - num();
      eat(')');
    } else eat('N');
    eat('*');
    return first + k * num();
  };
  const v = term();
  if (i !== expr.length) throw new SyntaxError(`trailing text at ${i}`);
  return v;
}
