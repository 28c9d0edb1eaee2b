/**
 * Converts a read ncnn network into an ONNX model that follows the project's I/O contract
 * (io-contract.ts): pre- and post-processing are nodes of the graph, so the worker feeds decoded
 * RGB bytes and gets RGB bytes back without a per-pixel loop in JavaScript.
 *
 *   input uint8 [N,H,W,3] -> Transpose NCHW -> Cast float -> /255 [-> Cast fp16] -> network
 *   [-> Cast float] -> Clip 0..1 -> *255 -> Round -> Cast uint8 -> Transpose NHWC -> output
 *
 * The fp16 variant stores weights and runs the network in fp16 but keeps uint8 I/O (float16 I/O
 * tensors are broken in onnxruntime-node, microsoft/onnxruntime#26791). The uint16 variant is the
 * same graph with uint16 I/O and 65535 in place of 255, for sources deeper than 8 bits.
 */
import { MODEL_INPUT_NAME, MODEL_IO_CHANNELS, MODEL_OUTPUT_NAME, SAMPLE_MAX } from '../io-contract.ts';
import type { SampleType } from '../io-contract.ts';
import { ModelError } from '../model-error.ts';
import type { NcnnModel, NcnnOp } from '../ncnn/layers.ts';
import { describeLayer } from '../ncnn/param.ts';
import { TensorDataType } from '../onnx/schema.ts';
import type { OnnxModel, OnnxValueInfo, TensorDataTypeValue } from '../onnx/schema.ts';
import { GraphBuilder } from './graph-builder.ts';
import type { Precision } from '../catalogue.ts';

/** ONNX opset and IR version of the written models (IR 8 is the one that goes with opset 17). */
export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

export interface OnnxConversionOptions {
  readonly precision: Precision;
  /** Element type of the input and output (default uint8). */
  readonly samples?: SampleType;
  readonly graphName: string;
  /** Expected upscale factor; the converter checks the graph really scales by it. */
  readonly scale: number;
  readonly producerVersion: string;
  readonly docString: string;
  readonly metadata: Readonly<Record<string, string>>;
}

/** What the converter knows about a blob: its ONNX tensor, channels and scale relative to the input. */
interface BlobInfo {
  readonly tensor: string;
  readonly channels: number;
  readonly scaleH: number;
  readonly scaleW: number;
}

function fail(op: NcnnOp, cause: string): never {
  throw new ModelError('NcnnLayerUnsupported', `converting ${describeLayer(op.layer)}: ${cause}`);
}

function ioValueInfo(name: string, dims: readonly (number | string)[], elemType: TensorDataTypeValue): OnnxValueInfo {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function emitOp(g: GraphBuilder, op: NcnnOp, blobs: Map<string, BlobInfo>, precision: Precision): void {
  const get = (name: string): BlobInfo => {
    const info = blobs.get(name);
    if (info === undefined) fail(op, `reads blob "${name}" before it is produced`);
    return info;
  };
  const tensor = (blob: string): string => `ncnn:${blob}`;
  const name = op.layer.name;
  switch (op.kind) {
    case 'split': {
      // ncnn copies the blob; ONNX tensors can feed several nodes, so the outputs are aliases.
      const src = get(op.input);
      for (const out of op.outputs) blobs.set(out, src);
      return;
    }
    case 'conv': {
      const src = get(op.input);
      if (src.channels !== op.inChannels) fail(op, `weights expect ${op.inChannels} input channels, blob "${op.input}" has ${src.channels}`);
      const [kh, kw] = op.kernel;
      const inputs = [src.tensor, g.floats(`${name}.weight`, [op.outChannels, op.inChannels, kh, kw], op.weights, precision)];
      if (op.bias !== null) inputs.push(g.floats(`${name}.bias`, [op.outChannels], op.bias, precision));
      const convOut = op.activation.type === 'none' ? tensor(op.output) : `${tensor(op.output)}/conv`;
      g.node('Conv', name, inputs, [convOut], {
        kernel_shape: { ints: [kh, kw] },
        strides: { ints: [...op.stride] },
        dilations: { ints: [...op.dilation] },
        pads: { ints: [...op.pads] },
      });
      if (op.activation.type === 'relu') g.node('Relu', `${name}/relu`, [convOut], [tensor(op.output)]);
      if (op.activation.type === 'leaky-relu') g.node('LeakyRelu', `${name}/leaky_relu`, [convOut], [tensor(op.output)], { alpha: { float: op.activation.slope } });
      // Output size with stride s is floor((H + pads - extent) / s) + 1; for the scale bookkeeping
      // only the 1/s factor matters, and these models use stride 1 throughout.
      blobs.set(op.output, { tensor: tensor(op.output), channels: op.outChannels, scaleH: src.scaleH / op.stride[0], scaleW: src.scaleW / op.stride[1] });
      return;
    }
    case 'prelu': {
      const src = get(op.input);
      const n = op.slopes.length;
      if (n !== 1 && n !== src.channels) fail(op, `has ${n} slopes for ${src.channels} channels`);
      // Shape [C,1,1] broadcasts over [N,C,H,W]; a single slope is shared by all channels.
      const slope = g.floats(`${name}.slope`, n === 1 ? [1] : [n, 1, 1], op.slopes, precision);
      g.node('PRelu', name, [src.tensor, slope], [tensor(op.output)]);
      blobs.set(op.output, { ...src, tensor: tensor(op.output) });
      return;
    }
    case 'concat': {
      const srcs = op.inputs.map(get);
      const first = srcs[0];
      if (first === undefined) fail(op, 'has no inputs');
      if (op.axis !== 0) fail(op, `concatenation along axis ${op.axis} (height or width) is not supported, only channels`);
      if (srcs.some((s) => s.scaleH !== first.scaleH || s.scaleW !== first.scaleW)) fail(op, 'joins blobs of different spatial sizes');
      g.node('Concat', name, srcs.map((s) => s.tensor), [tensor(op.output)], { axis: { int: op.axis + 1 } });
      blobs.set(op.output, { ...first, tensor: tensor(op.output), channels: srcs.reduce((sum, s) => sum + s.channels, 0) });
      return;
    }
    case 'weighted-sum': {
      const srcs = op.inputs.map(get);
      const first = srcs[0];
      if (first === undefined || srcs.length < 2) fail(op, 'needs at least two inputs');
      if (srcs.some((s) => s.channels !== first.channels || s.scaleH !== first.scaleH || s.scaleW !== first.scaleW)) fail(op, 'adds blobs of different shapes');
      const terms = srcs.map((s, i) => {
        const c = op.coefficients[i] ?? 1;
        return c === 1 ? s.tensor : g.node('Mul', `${name}/scale${i}`, [s.tensor, g.scalar(`${name}.coefficient${i}`, c, precision)], [`${tensor(op.output)}/term${i}`]);
      });
      let acc = terms[0] ?? '';
      for (let i = 1; i < terms.length; i++) {
        const out = i === terms.length - 1 ? tensor(op.output) : `${tensor(op.output)}/sum${i}`;
        acc = g.node('Add', terms.length === 2 ? name : `${name}/add${i}`, [acc, terms[i] ?? ''], [out]);
      }
      blobs.set(op.output, { ...first, tensor: tensor(op.output) });
      return;
    }
    case 'resize-nearest': {
      const src = get(op.input);
      const scales = g.floats(`${name}.scales`, [4], Float32Array.of(1, 1, op.scaleH, op.scaleW), 'fp32');
      // asymmetric + floor picks source pixel floor(x / scale), exactly as ncnn's Interp does.
      g.node('Resize', name, [src.tensor, '', scales], [tensor(op.output)], {
        mode: { string: 'nearest' },
        coordinate_transformation_mode: { string: 'asymmetric' },
        nearest_mode: { string: 'floor' },
      });
      blobs.set(op.output, { tensor: tensor(op.output), channels: src.channels, scaleH: src.scaleH * op.scaleH, scaleW: src.scaleW * op.scaleW });
      return;
    }
    case 'pixel-shuffle': {
      const src = get(op.input);
      const r = op.factor;
      if (src.channels % (r * r) !== 0) fail(op, `${src.channels} channels are not divisible by ${r}x${r}`);
      g.node('DepthToSpace', name, [src.tensor], [tensor(op.output)], { blocksize: { int: r }, mode: { string: op.mode } });
      blobs.set(op.output, { tensor: tensor(op.output), channels: src.channels / (r * r), scaleH: src.scaleH * r, scaleW: src.scaleW * r });
      return;
    }
  }
}

/**
 * Builds the ONNX model for a read ncnn network.
 * @throws ModelError `NcnnLayerUnsupported` when the network does not fit the I/O contract
 */
export function ncnnToOnnx(model: NcnnModel, options: OnnxConversionOptions): OnnxModel {
  const { precision } = options;
  const samples = options.samples ?? 'uint8';
  const max = SAMPLE_MAX[samples];
  const ioType = samples === 'uint16' ? TensorDataType.UINT16 : TensorDataType.UINT8;
  const g = new GraphBuilder();
  const f = (v: number): { int: number } => ({ int: v });

  const nchw = g.node('Transpose', 'pre/to_nchw', [MODEL_INPUT_NAME], ['pre/nchw_samples'], { perm: { ints: [0, 3, 1, 2] } });
  const asFloat = g.node('Cast', 'pre/to_float', [nchw], ['pre/nchw_f32'], { to: f(TensorDataType.FLOAT) });
  let unit = g.node('Div', 'pre/normalize', [asFloat, g.scalar(`pre.${max}`, max, 'fp32')], ['pre/unit']);
  if (precision === 'fp16') unit = g.node('Cast', 'pre/to_fp16', [unit], ['pre/unit_fp16'], { to: f(TensorDataType.FLOAT16) });

  const blobs = new Map<string, BlobInfo>([[model.input, { tensor: unit, channels: MODEL_IO_CHANNELS, scaleH: 1, scaleW: 1 }]]);
  for (const op of model.ops) emitOp(g, op, blobs, precision);

  const out = blobs.get(model.output);
  const where = `converting ncnn network ${options.graphName}`;
  if (out === undefined) throw new ModelError('NcnnLayerUnsupported', `${where}: output blob "${model.output}" is never produced`);
  if (out.channels !== MODEL_IO_CHANNELS) throw new ModelError('NcnnLayerUnsupported', `${where}: output has ${out.channels} channels, expected ${MODEL_IO_CHANNELS} (RGB)`);
  if (out.scaleH !== options.scale || out.scaleW !== options.scale) {
    throw new ModelError('NcnnLayerUnsupported', `${where}: graph scales by ${out.scaleH}x${out.scaleW}, expected ${options.scale}`);
  }

  let result = out.tensor;
  if (precision === 'fp16') result = g.node('Cast', 'post/to_float', [result], ['post/float'], { to: f(TensorDataType.FLOAT) });
  const clipped = g.node('Clip', 'post/clamp', [result, g.scalar('post.0', 0, 'fp32'), g.scalar('post.1', 1, 'fp32')], ['post/clamped']);
  const scaled = g.node('Mul', `post/to_${max}`, [clipped, g.scalar(`post.${max}`, max, 'fp32')], ['post/scaled']);
  const rounded = g.node('Round', 'post/round', [scaled], ['post/rounded']);
  const bytes = g.node('Cast', `post/to_${samples}`, [rounded], ['post/nchw_samples'], { to: f(ioType) });
  g.node('Transpose', 'post/to_nhwc', [bytes], [MODEL_OUTPUT_NAME], { perm: { ints: [0, 2, 3, 1] } });

  return {
    irVersion: ONNX_IR_VERSION,
    opsetImport: [{ domain: '', version: ONNX_OPSET }],
    producerName: 'upscale-operator',
    producerVersion: options.producerVersion,
    docString: options.docString,
    graph: {
      name: options.graphName,
      node: g.nodes,
      initializer: g.initializers,
      input: [ioValueInfo(MODEL_INPUT_NAME, ['N', 'H', 'W', MODEL_IO_CHANNELS], ioType)],
      output: [ioValueInfo(MODEL_OUTPUT_NAME, ['N', `H*${options.scale}`, `W*${options.scale}`, MODEL_IO_CHANNELS], ioType)],
    },
    metadataProps: Object.entries(options.metadata).map(([key, value]) => ({ key, value })),
  };
}
