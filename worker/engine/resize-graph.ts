/**
 * Appends the output downscale (outscale 2 or 3 with an x4 model, or a target size) to the model
 * graph itself, at session build time:
 *
 *   ... -> output (uint8 N,4H,4W,3) => ... -> output/native -> Resize(sizes = output_size) -> output
 *
 * Why in the graph rather than in JavaScript: the Resize runs where the model ran, so on a GPU only
 * the final (smaller) frame crosses PCIe, and on the CPU ONNX Runtime's multithreaded kernel does
 * in milliseconds what a JavaScript filter would do in hundreds. The filter is cubic (Keys a=-0.5,
 * Pillow's bicubic) with `antialias=1`, i.e. stretched to the downscale factor: a proper low-pass,
 * unlike Real-ESRGAN's `cv2.resize(INTER_LANCZOS4)`, which aliases when shrinking. The target size
 * is an input (`output_size`, int64 [2] = height, width), so one session serves every tile and
 * frame size. Resize works on the uint8 output directly: ONNX Runtime clamps the cubic overshoot.
 * A uint16 output (the deep models) is cast to float around the Resize, then clamped and rounded.
 *
 * `antialias` and `axes` need opset 18. Raising a model's default-domain opset is safe when no op it
 * uses changed meaning on the way; `opsetRaiseProblem` says when that is not the case.
 */
import { decodeOnnxModel, encodeOnnxModel, AttributeType, TensorDataType } from '../../models/onnx/schema.ts';
import type { OnnxGraph, OnnxModel, OnnxNode } from '../../models/onnx/schema.ts';
import { MODEL_OUTPUT_NAME, OUTPUT_SIZE_INPUT } from '../../models/io-contract.ts';

/** Name of the int64 [2] input (output height, output width) of a graph with the Resize appended. */
export { OUTPUT_SIZE_INPUT };

const RESIZE_OPSET = 18;
/** Opset 13 moved Squeeze/Unsqueeze/Split axes to inputs and changed Softmax; below it we do not raise. */
const MIN_RAISABLE_OPSET = 13;
/** Ops whose axes moved from an attribute to an input in opset 18 (ReduceSum did so in 13). */
const CHANGED_IN_18 = new Set(['ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceProd', 'ReduceL1', 'ReduceL2', 'ReduceLogSum', 'ReduceLogSumExp', 'ReduceSumSquare']);

/** A decoded model; nodes may carry a `domain` (absent = the default ONNX domain). */
interface DecodedModel extends Omit<OnnxModel, 'graph'> {
  graph: Omit<OnnxGraph, 'node'> & { node: (OnnxNode & { domain?: string })[] };
}

function defaultOpset(model: DecodedModel): number {
  return model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx')?.version ?? 0;
}

/**
 * Why the model's default-domain opset cannot be raised to 18, or undefined when it can (or
 * already is 18 or more).
 */
export function opsetRaiseProblem(model: DecodedModel): string | undefined {
  const version = defaultOpset(model);
  if (version >= RESIZE_OPSET) return undefined;
  if (version < MIN_RAISABLE_OPSET) return `it uses opset ${version}; the appended Resize needs opset 18 and models below opset 13 are not raised`;
  const changed = model.graph.node.find((n) => (n.domain ?? '') === '' && CHANGED_IN_18.has(n.opType));
  if (changed !== undefined) return `its node "${changed.name}" (${changed.opType}) changed meaning in opset 18, which the appended Resize needs`;
  return undefined;
}

/**
 * Returns the model with the output Resize appended (see the file comment).
 * @throws Error naming the problem when the graph cannot take it (the caller wraps it)
 */
export function appendOutputResize(modelBytes: Uint8Array): Uint8Array {
  const model = decodeOnnxModel(modelBytes) as DecodedModel;
  const problem = opsetRaiseProblem(model);
  if (problem !== undefined) throw new Error(problem);
  const graph = model.graph;
  const output = graph.output.find((o) => o.name === MODEL_OUTPUT_NAME) ?? graph.output[0];
  if (output === undefined) throw new Error('the graph has no output');
  const outputName = output.name;
  const nativeName = `${outputName}/native`;
  for (const node of graph.node) node.output = node.output.map((o) => (o === outputName ? nativeName : o));
  for (const node of graph.node) node.input = node.input.map((i) => (i === outputName ? nativeName : i));
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  // ONNX Runtime's Resize takes uint8 but not uint16: a uint16 model resizes in float around it.
  const uint16 = output.type.tensorType.elemType === TensorDataType.UINT16;
  const resizeIn = uint16 ? `${outputName}/native_float` : nativeName;
  const resizeOut = uint16 ? `${outputName}/resized_float` : outputName;
  if (uint16) {
    graph.node.push({ name: 'upscale/output_resize_to_float', opType: 'Cast', input: [nativeName], output: [resizeIn], attribute: [{ name: 'to', type: AttributeType.INT, i: TensorDataType.FLOAT }] });
  }
  graph.node.push({
    name: 'upscale/output_resize',
    opType: 'Resize',
    input: [resizeIn, '', '', OUTPUT_SIZE_INPUT],
    output: [resizeOut],
    attribute: [
      { name: 'mode', type: AttributeType.STRING, s: text('cubic') },
      { name: 'cubic_coeff_a', type: AttributeType.FLOAT, f: -0.5 },
      { name: 'antialias', type: AttributeType.INT, i: 1 },
      { name: 'axes', type: AttributeType.INTS, ints: [1, 2] },
    ],
  });
  if (uint16) appendToUint16(graph, resizeOut, outputName);
  graph.input.push({
    name: OUTPUT_SIZE_INPUT,
    type: { tensorType: { elemType: TensorDataType.INT64, shape: { dim: [{ dimValue: 2 }] } } },
  });
  // The output's height and width are no longer H*4 and W*4: make them free dimensions.
  const dims = output.type.tensorType.shape.dim;
  if (dims.length === 4) {
    dims[1] = { dimParam: 'out_height' };
    dims[2] = { dimParam: 'out_width' };
  }
  const opset = model.opsetImport.find((o) => o.domain === '' || o.domain === 'ai.onnx');
  if (opset === undefined) model.opsetImport.push({ domain: '', version: RESIZE_OPSET });
  else opset.version = Math.max(opset.version, RESIZE_OPSET);
  return encodeOnnxModel(model);
}

/** Clamps the cubic overshoot to 0..65535, rounds (half to even) and casts to uint16. */
function appendToUint16(graph: DecodedModel['graph'], from: string, to: string): void {
  const scalar = (name: string, value: number): string => {
    graph.initializer.push({ name, dataType: TensorDataType.FLOAT, dims: [], rawData: new Uint8Array(Float32Array.of(value).buffer) });
    return name;
  };
  const min = scalar('upscale/output_resize.0', 0);
  const max = scalar('upscale/output_resize.65535', 65535);
  graph.node.push({ name: 'upscale/output_resize_clip', opType: 'Clip', input: [from, min, max], output: [`${to}/clipped`], attribute: [] });
  graph.node.push({ name: 'upscale/output_resize_round', opType: 'Round', input: [`${to}/clipped`], output: [`${to}/rounded`], attribute: [] });
  graph.node.push({ name: 'upscale/output_resize_to_uint16', opType: 'Cast', input: [`${to}/rounded`], output: [to], attribute: [{ name: 'to', type: AttributeType.INT, i: TensorDataType.UINT16 }] });
}
