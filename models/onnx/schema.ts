/**
 * ONNX serialization through protobufjs and the official, vendored `onnx.proto` (see SOURCE.md).
 * The interfaces below type the subset of the schema this project writes and reads; field names
 * are protobufjs' camelCase forms of the .proto names.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';

/** `TensorProto.DataType` values used here (checked against the .proto by schema.test.ts). */
export const TensorDataType = { FLOAT: 1, UINT8: 2, UINT16: 4, INT64: 7, FLOAT16: 10 } as const;
export type TensorDataTypeValue = (typeof TensorDataType)[keyof typeof TensorDataType];

/** `AttributeProto.AttributeType` values used here. */
export const AttributeType = { FLOAT: 1, INT: 2, STRING: 3, INTS: 7 } as const;

export interface OnnxAttribute {
  name: string;
  type: (typeof AttributeType)[keyof typeof AttributeType];
  f?: number;
  i?: number;
  s?: Uint8Array;
  ints?: number[];
}

export interface OnnxNode {
  name: string;
  opType: string;
  /** Operator set domain; absent or '' is the default ONNX domain. */
  domain?: string;
  input: string[];
  output: string[];
  attribute: OnnxAttribute[];
}

export interface OnnxTensor {
  name: string;
  dataType: TensorDataTypeValue;
  dims: number[];
  rawData: Uint8Array;
}

export interface OnnxDimension {
  dimValue?: number;
  dimParam?: string;
}

export interface OnnxValueInfo {
  name: string;
  type: { tensorType: { elemType: TensorDataTypeValue; shape: { dim: OnnxDimension[] } } };
}

export interface OnnxGraph {
  name: string;
  node: OnnxNode[];
  initializer: OnnxTensor[];
  input: OnnxValueInfo[];
  output: OnnxValueInfo[];
  docString?: string;
}

export interface OnnxModel {
  irVersion: number;
  opsetImport: { domain: string; version: number }[];
  producerName: string;
  producerVersion: string;
  docString?: string;
  graph: OnnxGraph;
  metadataProps: { key: string; value: string }[];
}

const PROTO_PATH = fileURLToPath(new URL('onnx.proto', import.meta.url));
let modelType: protobuf.Type | undefined;

/** The `onnx.ModelProto` message type, loaded once from the vendored schema. */
export function onnxModelType(): protobuf.Type {
  modelType ??= protobuf.loadSync(PROTO_PATH).lookupType('onnx.ModelProto');
  return modelType;
}

/** The enum values the schema defines for `enumPath` (e.g. "onnx.TensorProto.DataType"). */
export function onnxEnumValues(enumPath: string): Readonly<Record<string, number>> {
  return onnxModelType().root.lookupEnum(enumPath).values;
}

/** Serializes a model to ONNX protobuf bytes. */
export function encodeOnnxModel(model: OnnxModel): Uint8Array {
  const type = onnxModelType();
  const problem = type.verify(model);
  if (problem !== null) throw new Error(`ONNX model does not match onnx.proto: ${problem}`);
  return type.encode(model).finish();
}

/**
 * Parses ONNX protobuf bytes into a plain object (int64 as numbers, bytes as Uint8Array). The
 * result is untrusted: callers validate the parts they read.
 */
export function decodeOnnxModel(bytes: Uint8Array): unknown {
  const type = onnxModelType();
  return type.toObject(type.decode(bytes), { longs: Number, enums: Number, bytes: Uint8Array, defaults: false, arrays: true });
}
