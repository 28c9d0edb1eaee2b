import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateSetpts, setptsExpression } from './setpts-expr.ts';

describe('setptsExpression', () => {
  const cases: { name: string; pts: number[]; want?: string }[] = [
    { name: 'a single frame is a constant', pts: [0], want: '0' },
    { name: 'constant rate from zero is one term', pts: [0, 800, 1600, 2400], want: '0+N*800' },
    { name: 'constant rate with an offset start', pts: [1001, 2002, 3003], want: '1001+N*1001' },
    { name: 'a change of rate splits into two runs', pts: [0, 40, 80, 100, 120, 140], want: 'if(lt(N,3),0+N*40,100+(N-3)*20)' },
    { name: 'millisecond jitter of a Matroska 23.976 fps stream', pts: [0, 42, 83, 125, 167, 209, 250, 292, 334, 375] },
    { name: 'every frame a different duration', pts: [0, 1, 3, 6, 10, 15, 21, 28, 36, 45, 55, 66, 78] },
    { name: 'negative first timestamp', pts: [-2, 0, 2, 5] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const expr = setptsExpression(c.pts);
      if (c.want !== undefined) assert.equal(expr, c.want);
      assert.deepEqual(c.pts.map((_, n) => evaluateSetpts(expr, n)), c.pts);
    });
  }

  it('keeps the tree shallow for a long variable-rate shard', () => {
    const pts: number[] = [];
    let t = 0;
    for (let n = 0; n < 5000; n++) pts.push((t += 1000 + ((n * 7919) % 13)));
    const expr = setptsExpression(pts);
    const depth = Math.max(...expr.split('').reduce<number[]>((acc, ch) => {
      const d = (acc[acc.length - 1] ?? 0) + (ch === '(' ? 1 : ch === ')' ? -1 : 0);
      acc.push(d);
      return acc;
    }, []));
    assert.ok(depth < 60, `nesting depth ${depth}`);
    for (const n of [0, 1, 2, 1234, 4998, 4999]) assert.equal(evaluateSetpts(expr, n), pts[n]);
  });

  it('rejects an empty list', () => assert.throws(() => setptsExpression([]), /no timestamps/));
});
