/**
 * Test helper: small hand-written ONNX models (through the models room's protobuf writer) for the
 * cases the real Real-ESRGAN models cannot produce on demand: a contract violation, a run that
 * fails for some frame sizes, and a run whose memory explodes above a size, for the out-of-memory
 * retry. They run in real ONNX Runtime like any model; nothing is mocked.
 */
import { writeFile } from 'node:fs/promises';
import { AttributeType, encodeOnnxModel, TensorDataType } from '../../models/onnx/schema.ts';
import type { OnnxAttribute, OnnxModel, OnnxNode, OnnxTensor, OnnxValueInfo } from '../../models/onnx/schema.ts';

type Dim = number | string;
type ElemType = (typeof TensorDataType)[keyof typeof TensorDataType];

function valueInfo(name: string, elemType: ElemType, dims: readonly Dim[]): OnnxValueInfo {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } } };
}

function node(opType: string, input: string[], output: string[], attribute: OnnxAttribute[] = []): OnnxNode {
  return { name: `${opType}:${output[0] ?? ''}`, opType, input, output, attribute };
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const floats = (name: string, dims: number[], values: number[]): OnnxTensor => ({ name, dataType: TensorDataType.FLOAT, dims, rawData: new Uint8Array(Float32Array.from(values).buffer) });
const int64s = (name: string, dims: number[], values: number[]): OnnxTensor => ({ name, dataType: TensorDataType.INT64, dims, rawData: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });

function model(nodes: OnnxNode[], initializer: OnnxTensor[], input: OnnxValueInfo, output: OnnxValueInfo, opset = 17): OnnxModel {
  return {
    irVersion: 8,
    opsetImport: [{ domain: '', version: opset }],
    producerName: 'upscale-operator engine tests',
    producerVersion: '1',
    graph: { name: 'test', node: nodes, initializer, input: [input], output: [output] },
    metadataProps: [],
  };
}

/** uint8 NHWC -> float -> nearest x`scale` (-> extra float nodes) -> uint8: the skeleton of the models below. */
function nearestModel(scale: number, middle: OnnxNode[], initializer: OnnxTensor[], inputName = 'input'): OnnxModel {
  const nodes = [
    node('Cast', [inputName], ['f'], [{ name: 'to', type: AttributeType.INT, i: TensorDataType.FLOAT }]),
    ...middle,
    node('Resize', [middle.length > 0 ? 'g' : 'f', '', 'scales'], ['r'], [{ name: 'mode', type: AttributeType.STRING, s: text('nearest') }]),
    node('Cast', ['r'], ['output'], [{ name: 'to', type: AttributeType.INT, i: TensorDataType.UINT8 }]),
  ];
  return model(nodes, [floats('scales', [4], [1, scale, scale, 1]), ...initializer], valueInfo(inputName, TensorDataType.UINT8, ['N', 'H', 'W', 3]), valueInfo('output', TensorDataType.UINT8, ['N', 'OH', 'OW', 3]));
}

/** A valid x`scale` nearest-neighbour model that follows the contract. */
export function nearestUpscaler(scale: number): OnnxModel {
  return nearestModel(scale, [], []);
}

/** Same as nearestUpscaler but its input is float32, violating the uint8 contract. */
export function floatInputModel(): OnnxModel {
  const m = nearestModel(4, [], []);
  m.graph.node.shift();
  m.graph.node[0] = node('Resize', ['input', '', 'scales'], ['r'], [{ name: 'mode', type: AttributeType.STRING, s: text('nearest') }]);
  m.graph.input = [valueInfo('input', TensorDataType.FLOAT, ['N', 'H', 'W', 3])];
  return m;
}

/** A channels-first (NCHW) uint8 model: rank and type fine, layout wrong. */
export function channelsFirstModel(): OnnxModel {
  const m = nearestModel(4, [], []);
  m.graph.input = [valueInfo('input', TensorDataType.UINT8, ['N', 3, 'H', 'W'])];
  return m;
}

/**
 * A valid x4 model that fails at run time when height or width is odd (SpaceToDepth needs
 * multiples of 2): it passes validation (16x16) and breaks on odd frames.
 */
export function evenSizesOnlyModel(): OnnxModel {
  const toNchw = node('Transpose', ['f'], ['nchw'], [{ name: 'perm', type: AttributeType.INTS, ints: [0, 3, 1, 2] }]);
  const s2d = node('SpaceToDepth', ['nchw'], ['s2d'], [{ name: 'blocksize', type: AttributeType.INT, i: 2 }]);
  const d2s = node('DepthToSpace', ['s2d'], ['d2s'], [{ name: 'blocksize', type: AttributeType.INT, i: 2 }]);
  const toNhwc = node('Transpose', ['d2s'], ['g'], [{ name: 'perm', type: AttributeType.INTS, ints: [0, 2, 3, 1] }]);
  return nearestModel(4, [toNchw, s2d, d2s, toNhwc], []);
}

/**
 * A valid x4 model whose scratch tensor has k^12 floats, k = floor(N*H*W / 4096): nothing up to
 * 64x64 pixels per run, 64 MiB at 128x128, and terabytes from two 128x128 images on, which ONNX
 * Runtime fails to allocate ("Failed to allocate memory"): a real out-of-memory error, on demand.
 */
export function memoryHungryModel(): OnnxModel {
  const nodes = [
    node('Shape', ['input'], ['shape']),
    // N*H*W*3, divided by 4096*3 (int64 division floors).
    node('ReduceProd', ['shape'], ['nhwc'], [{ name: 'keepdims', type: AttributeType.INT, i: 1 }]),
    node('Div', ['nhwc', 'divisor'], ['k']),
    node('Mul', ['k', 'k'], ['k2']),
    node('Mul', ['k2', 'k2'], ['k4']),
    node('Mul', ['k4', 'k2'], ['k6']),
    node('Concat', ['k6', 'k6'], ['scratch_shape'], [{ name: 'axis', type: AttributeType.INT, i: 0 }]),
    node('Expand', ['zero', 'scratch_shape'], ['scratch']),
    node('ReduceSum', ['scratch'], ['total'], [{ name: 'keepdims', type: AttributeType.INT, i: 0 }]),
    node('Add', ['f', 'total'], ['g']),
  ];
  return nearestModel(4, nodes, [int64s('divisor', [1], [4096 * 3]), floats('zero', [], [0])]);
}

/** Writes `m` to `path` and returns the path. */
export async function writeModel(path: string, m: OnnxModel): Promise<string> {
  await writeFile(path, encodeOnnxModel(m));
  return path;
}
