/**
 * Small helper that collects ONNX nodes and initializers while a converter walks a network, so the
 * converter reads as a list of operations rather than protobuf plumbing.
 */
import type { Precision } from '../catalogue.ts';
import { floatsToHalfBytes } from '../float16.ts';
import { AttributeType, TensorDataType } from '../onnx/schema.ts';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from '../onnx/schema.ts';

/** An ONNX attribute value, tagged with its ONNX type. */
export type AttributeValue = { float: number } | { int: number } | { string: string } | { ints: readonly number[] };

function attribute(name: string, value: AttributeValue): OnnxAttribute {
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('string' in value) return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value.string) };
  return { name, type: AttributeType.INTS, ints: [...value.ints] };
}

export class GraphBuilder {
  readonly nodes: OnnxNode[] = [];
  readonly initializers: OnnxTensor[] = [];
  readonly #names = new Set<string>();

  #unique(name: string): string {
    if (this.#names.has(name)) throw new Error(`duplicate ONNX tensor name "${name}"`);
    this.#names.add(name);
    return name;
  }

  /** Adds a node; returns its first output name. */
  node(opType: string, name: string, inputs: readonly string[], outputs: readonly string[], attributes: Record<string, AttributeValue> = {}): string {
    for (const o of outputs) this.#unique(o);
    this.nodes.push({
      name,
      opType,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attributes).map(([key, value]) => attribute(key, value)),
    });
    return outputs[0] ?? '';
  }

  /** Adds a float initializer stored as fp32 or fp16; returns its name. */
  floats(name: string, dims: readonly number[], values: Float32Array, precision: Precision): string {
    const rawData =
      precision === 'fp16'
        ? floatsToHalfBytes(values)
        : // ONNX raw_data is little-endian, as Float32Array is on every platform Node supports.
          new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    this.initializers.push({
      name: this.#unique(name),
      dataType: precision === 'fp16' ? TensorDataType.FLOAT16 : TensorDataType.FLOAT,
      dims: [...dims],
      rawData,
    });
    return name;
  }

  /** Adds a scalar float initializer (shape []); returns its name. */
  scalar(name: string, value: number, precision: Precision): string {
    return this.floats(name, [], Float32Array.of(value), precision);
  }
}
