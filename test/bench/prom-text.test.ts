import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { counterDelta, histogramQuantile, parseProm } from './prom-text.ts';

const before = parseProm(`# HELP apiserver_request_total x
apiserver_request_total{code="201",resource="pods",verb="POST"} 10
apiserver_request_total{code="200",resource="pods",verb="GET"} 5
`);
const after = parseProm(`apiserver_request_total{code="201",resource="pods",verb="POST"} 25
apiserver_request_total{code="409",resource="pods",verb="POST"} 2
apiserver_request_total{code="200",resource="pods",verb="GET"} 5
apiserver_request_total{code="200",resource="leases",verb="PUT"} 4
`);

describe('prom-text', () => {
  it('parses labels with escaped quotes', () => {
    const [s] = parseProm('m{a="x\\"y",b="2"} 3.5');
    assert.deepEqual(s, { name: 'm', labels: { a: 'x"y', b: '2' }, value: 3.5 });
  });
  it('gives counter deltas per key, summing label sets and leaving out unchanged keys', () => {
    const d = counterDelta(before, after, 'apiserver_request_total', (l) => `${l['verb']} ${l['resource']}`);
    assert.deepEqual([...d], [['POST pods', 17], ['PUT leases', 4]]);
  });
  it('takes a quantile as the upper bound of the bucket that holds it', () => {
    const h = parseProm(`t_bucket{c="a",le="0.01"} 90
t_bucket{c="a",le="0.1"} 99
t_bucket{c="a",le="1"} 100
t_bucket{c="a",le="+Inf"} 100
`);
    assert.equal(histogramQuantile(h, 't', 0.5), 0.01);
    assert.equal(histogramQuantile(h, 't', 0.99), 0.1);
    assert.equal(histogramQuantile(h, 't', 1), 1);
    assert.equal(histogramQuantile([], 't', 0.99), undefined);
  });
});
