import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelError } from '../model-error.ts';
import { allLayersFixture, fixtureParam } from '../test-support/ncnn-fixture.ts';
import { paramArray, paramFloat, paramInt, parseNcnnParam } from './param.ts';

function rejects(text: string, pattern: RegExp): void {
  assert.throws(
    () => parseNcnnParam(text, 'bad.param'),
    (error: unknown) => error instanceof ModelError && error.code === 'NcnnParamInvalid' && pattern.test(error.message),
  );
}

describe('parseNcnnParam', () => {
  it('reads layers, blob names and int, float and array params', () => {
    const graph = parseNcnnParam(
      '7767517\n3 4\n' +
        'Input            input.1   0 1 data\n' +
        'Convolution      Conv_1    1 1 data 705 0=32 1=3 4=1 5=1 6=864 9=2 -23310=1,2.000000e-01\n' +
        'Split            split_0   1 2 705 a b\n',
      'x.param',
    );
    assert.equal(graph.blobCount, 4);
    assert.deepEqual(graph.layers.map((l) => [l.type, l.name, l.bottoms, l.tops, l.line]), [
      ['Input', 'input.1', [], ['data'], 3],
      ['Convolution', 'Conv_1', ['data'], ['705'], 4],
      ['Split', 'split_0', ['705'], ['a', 'b'], 5],
    ]);
    const conv = graph.layers[1];
    assert.ok(conv);
    assert.equal(paramInt(conv, 0, 0), 32);
    assert.equal(paramInt(conv, 11, paramInt(conv, 1, 0)), 3, 'absent ids take the default, as ncnn pd.get does');
    assert.deepEqual(paramArray(conv, 10), [0.2]);
    assert.equal(paramFloat(conv, 18, 0), 0);
  });

  it('parses the whole fixture network, blank lines and CRLF included', () => {
    const text = fixtureParam(allLayersFixture()).replaceAll('\n', '\r\n') + '\r\n\r\n';
    const graph = parseNcnnParam(text, 'fixture.param');
    assert.equal(graph.layers.length, allLayersFixture().length);
    assert.deepEqual(graph.layers.at(-1)?.tops, ['output']);
  });

  it('rejects a file without the text magic (e.g. a binary .param) on line 1', () => {
    rejects('\u0001\u0002binary', /bad\.param line 1: expected magic 7767517/);
  });

  it('rejects a header whose counts do not match the layers', () => {
    rejects('7767517\n2 1\nInput in 0 1 data\n', /line 2: header declares 2 layers but the file has 1/);
    rejects('7767517\n1 3\nInput in 0 1 data\n', /line 2: header declares 3 blobs but the layers produce 1/);
  });

  it('rejects a layer that reads a blob nothing produced', () => {
    rejects('7767517\n2 2\nInput in 0 1 data\nSplit s 1 1 nope out\n', /line 4: layer s reads blob "nope" that no earlier layer produces/);
  });

  it('rejects a layer line with fewer names than its counts', () => {
    rejects('7767517\n2 2\nInput in 0 1 data\nConcat c 3 1 data out\n', /line 4: layer c declares 3 inputs and 1 outputs but names fewer/);
  });

  it('rejects values that are not numbers and arrays with the wrong length', () => {
    rejects('7767517\n1 1\nInput in 0 1 data 0=abc\n', /line 3: layer in param 0 has value "abc", which is not a number/);
    rejects('7767517\n1 1\nInput in 0 1 data -23301=3,1.0,2.0\n', /line 3: layer in array param 1 declares 3 values but has 2/);
    rejects('7767517\n1 1\nInput in 0 1 data 40=1\n', /param id 40, outside 0\.\.31/);
  });

  it('refuses a float where the layer reads an int', () => {
    const graph = parseNcnnParam('7767517\n1 1\nInput in 0 1 data 0=1.5\n', 'x.param');
    const layer = graph.layers[0];
    assert.ok(layer);
    assert.throws(() => paramInt(layer, 0, 0), /Input layer in \(line 3\): param 0 must be an integer, found 1\.5/);
  });
});
