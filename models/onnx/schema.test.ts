import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AttributeType, TensorDataType, decodeOnnxModel, encodeOnnxModel, onnxEnumValues } from './schema.ts';
import type { OnnxModel } from './schema.ts';

describe('ONNX schema', () => {
  it('is the vendored official onnx.proto named in SOURCE.md', () => {
    const proto = readFileSync(new URL('onnx.proto', import.meta.url));
    const source = readFileSync(new URL('SOURCE.md', import.meta.url), 'utf8');
    assert.ok(source.includes(createHash('sha256').update(proto).digest('hex')), 'SOURCE.md records the file hash');
    assert.match(proto.toString('utf8'), /SPDX-License-Identifier: Apache-2.0/);
  });

  it('uses the enum numbers the schema defines', () => {
    const dataTypes = onnxEnumValues('onnx.TensorProto.DataType');
    for (const [name, value] of Object.entries(TensorDataType)) assert.equal(dataTypes[name], value, name);
    const attributeTypes = onnxEnumValues('onnx.AttributeProto.AttributeType');
    for (const [name, value] of Object.entries(AttributeType)) assert.equal(attributeTypes[name], value, name);
  });

  it('round-trips a model through protobuf bytes', () => {
    const model: OnnxModel = {
      irVersion: 8,
      opsetImport: [{ domain: '', version: 17 }],
      producerName: 'test',
      producerVersion: '0',
      graph: {
        name: 'g',
        node: [{ name: 'n', opType: 'Relu', input: ['x'], output: ['y'], attribute: [{ name: 'a', type: AttributeType.INTS, ints: [1, 2] }] }],
        initializer: [{ name: 'w', dataType: TensorDataType.FLOAT, dims: [2], rawData: new Uint8Array(Float32Array.of(1, 2).buffer) }],
        input: [],
        output: [],
      },
      metadataProps: [{ key: 'k', value: 'v' }],
    };
    const decoded = decodeOnnxModel(encodeOnnxModel(model)) as OnnxModel;
    assert.equal(decoded.irVersion, 8);
    assert.deepEqual(decoded.metadataProps, [{ key: 'k', value: 'v' }]);
    assert.deepEqual(decoded.graph.node[0]?.attribute[0]?.ints, [1, 2]);
    assert.deepEqual([...(decoded.graph.initializer[0]?.rawData ?? [])], [...new Uint8Array(Float32Array.of(1, 2).buffer)]);
  });
});
