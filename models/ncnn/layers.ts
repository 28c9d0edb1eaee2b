/**
 * Turns a parsed ncnn graph plus its weights into typed operations, reading each layer's params
 * the way the layer's `load_param` does and its weights in the order its `load_model` does
 * (Tencent/ncnn src/layer/*.cpp). Only the layer types and options Real-ESRGAN's ncnn models use
 * are accepted; anything else fails with the layer named.
 */
import { ModelError } from '../model-error.ts';
import type { NcnnWeightReader } from './modelbin.ts';
import { describeLayer, paramArray, paramFloat, paramInt } from './param.ts';
import type { NcnnGraph, NcnnLayer } from './param.ts';

/** Fused activation of a Convolution (ncnn's activation_type 0, 1, 2). */
export type Activation = { readonly type: 'none' } | { readonly type: 'relu' } | { readonly type: 'leaky-relu'; readonly slope: number };

export interface ConvOp {
  readonly kind: 'conv';
  readonly layer: NcnnLayer;
  readonly input: string;
  readonly output: string;
  readonly outChannels: number;
  readonly inChannels: number;
  readonly kernel: readonly [h: number, w: number];
  readonly stride: readonly [h: number, w: number];
  readonly dilation: readonly [h: number, w: number];
  /** ONNX order: top, left, bottom, right. */
  readonly pads: readonly [number, number, number, number];
  /** [outChannels, inChannels, kh, kw], as ncnn and ONNX both lay them out. */
  readonly weights: Float32Array;
  readonly bias: Float32Array | null;
  readonly activation: Activation;
}

export type NcnnOp =
  | ConvOp
  | { readonly kind: 'split'; readonly layer: NcnnLayer; readonly input: string; readonly outputs: readonly string[] }
  | { readonly kind: 'prelu'; readonly layer: NcnnLayer; readonly input: string; readonly output: string; readonly slopes: Float32Array }
  /** `axis` counts over [C, H, W] (ncnn blobs have no batch axis). */
  | { readonly kind: 'concat'; readonly layer: NcnnLayer; readonly inputs: readonly string[]; readonly output: string; readonly axis: number }
  /** output = sum(coefficients[i] * inputs[i]). */
  | { readonly kind: 'weighted-sum'; readonly layer: NcnnLayer; readonly inputs: readonly string[]; readonly output: string; readonly coefficients: readonly number[] }
  | { readonly kind: 'resize-nearest'; readonly layer: NcnnLayer; readonly input: string; readonly output: string; readonly scaleH: number; readonly scaleW: number }
  | { readonly kind: 'pixel-shuffle'; readonly layer: NcnnLayer; readonly input: string; readonly output: string; readonly factor: number; readonly mode: 'CRD' | 'DCR' };

/** A whole network: one input blob, one output blob, operations in execution order. */
export interface NcnnModel {
  readonly input: string;
  readonly inputLayer: NcnnLayer;
  readonly output: string;
  readonly ops: readonly NcnnOp[];
}

/** The layer types this reader supports, for documentation and error messages. */
export const SUPPORTED_LAYER_TYPES = ['Input', 'Split', 'Convolution', 'PReLU', 'Concat', 'Eltwise', 'BinaryOp', 'Interp', 'PixelShuffle'] as const;

function unsupported(layer: NcnnLayer, cause: string): never {
  throw new ModelError('NcnnLayerUnsupported', `converting ${describeLayer(layer)}: ${cause}`);
}

function only(layer: NcnnLayer, list: readonly string[], what: string, count: number): string[] {
  if (list.length !== count) unsupported(layer, `expected ${count} ${what}, found ${list.length}`);
  return [...list];
}

function one(layer: NcnnLayer, list: readonly string[], what: string): string {
  return only(layer, list, what, 1)[0] ?? '';
}

function readConvolution(layer: NcnnLayer, reader: NcnnWeightReader): ConvOp {
  const outChannels = paramInt(layer, 0, 0);
  const kw = paramInt(layer, 1, 0);
  const kh = paramInt(layer, 11, kw);
  const dw = paramInt(layer, 2, 1);
  const dh = paramInt(layer, 12, dw);
  const sw = paramInt(layer, 3, 1);
  const sh = paramInt(layer, 13, sw);
  const padLeft = paramInt(layer, 4, 0);
  const padRight = paramInt(layer, 15, padLeft);
  const padTop = paramInt(layer, 14, padLeft);
  const padBottom = paramInt(layer, 16, padTop);
  const padValue = paramFloat(layer, 18, 0);
  const biasTerm = paramInt(layer, 5, 0);
  const weightCount = paramInt(layer, 6, 0);
  const int8ScaleTerm = paramInt(layer, 8, 0);
  const activationType = paramInt(layer, 9, 0);
  const activationParams = paramArray(layer, 10);
  const dynamicWeight = paramInt(layer, 19, 0);

  if (int8ScaleTerm !== 0) unsupported(layer, `int8 quantization (param 8=${int8ScaleTerm}) is not supported`);
  if (dynamicWeight !== 0) unsupported(layer, 'dynamic weights (param 19) are not supported');
  if (padValue !== 0) unsupported(layer, `padding value ${padValue} (param 18) is not supported, only 0`);
  if ([padLeft, padRight, padTop, padBottom].some((p) => p < 0)) {
    unsupported(layer, `automatic "same" padding (negative pad ${padLeft}/${padTop}) is not supported`);
  }
  if (outChannels <= 0 || kw <= 0 || kh <= 0 || sw <= 0 || sh <= 0 || dw <= 0 || dh <= 0) {
    unsupported(layer, `invalid shape: num_output ${outChannels}, kernel ${kh}x${kw}, stride ${sh}x${sw}, dilation ${dh}x${dw}`);
  }
  const inChannels = weightCount / (outChannels * kh * kw);
  if (!Number.isInteger(inChannels) || inChannels <= 0) {
    unsupported(layer, `weight_data_size ${weightCount} is not num_output ${outChannels} x kernel ${kh}x${kw} x a whole number of input channels`);
  }
  let activation: Activation;
  if (activationType === 0) activation = { type: 'none' };
  else if (activationType === 1) activation = { type: 'relu' };
  else if (activationType === 2) activation = { type: 'leaky-relu', slope: activationParams[0] ?? 0 };
  else unsupported(layer, `fused activation_type ${activationType} is not supported (only 0 none, 1 ReLU, 2 leaky ReLU)`);

  const owner = describeLayer(layer);
  const weights = reader.loadTagged(weightCount, `${owner} weights`);
  const bias = biasTerm !== 0 ? reader.loadRaw(outChannels, `${owner} bias`) : null;
  return {
    kind: 'conv',
    layer,
    input: one(layer, layer.bottoms, 'input'),
    output: one(layer, layer.tops, 'output'),
    outChannels,
    inChannels,
    kernel: [kh, kw],
    stride: [sh, sw],
    dilation: [dh, dw],
    pads: [padTop, padLeft, padBottom, padRight],
    weights,
    bias,
    activation,
  };
}

function readLayer(layer: NcnnLayer, reader: NcnnWeightReader): NcnnOp | null {
  switch (layer.type) {
    case 'Input':
      return null;
    case 'Split':
      return { kind: 'split', layer, input: one(layer, layer.bottoms, 'input'), outputs: [...layer.tops] };
    case 'Convolution':
      return readConvolution(layer, reader);
    case 'PReLU': {
      const count = paramInt(layer, 0, 0);
      if (count <= 0) unsupported(layer, `num_slope ${count} must be positive`);
      const slopes = reader.loadRaw(count, `${describeLayer(layer)} slopes`);
      return { kind: 'prelu', layer, input: one(layer, layer.bottoms, 'input'), output: one(layer, layer.tops, 'output'), slopes };
    }
    case 'Concat': {
      const axis = paramInt(layer, 0, 0);
      // Blobs here are [C, H, W]; ncnn counts a negative axis from the end.
      const positive = axis < 0 ? axis + 3 : axis;
      if (positive < 0 || positive > 2) unsupported(layer, `axis ${axis} is outside a 3-dimensional blob`);
      if (layer.bottoms.length < 1) unsupported(layer, 'has no inputs');
      return { kind: 'concat', layer, inputs: [...layer.bottoms], output: one(layer, layer.tops, 'output'), axis: positive };
    }
    case 'Eltwise': {
      const opType = paramInt(layer, 0, 0);
      if (opType !== 1) unsupported(layer, `operation ${opType} is not supported (only 1, sum)`);
      const given = paramArray(layer, 1);
      if (given.length !== 0 && given.length !== layer.bottoms.length) {
        unsupported(layer, `has ${given.length} coefficients for ${layer.bottoms.length} inputs`);
      }
      const coefficients = given.length === 0 ? layer.bottoms.map(() => 1) : [...given];
      return { kind: 'weighted-sum', layer, inputs: [...layer.bottoms], output: one(layer, layer.tops, 'output'), coefficients };
    }
    case 'BinaryOp': {
      const opType = paramInt(layer, 0, 0);
      const withScalar = paramInt(layer, 1, 0);
      if (opType !== 0 || withScalar !== 0) {
        unsupported(layer, `operation ${opType}${withScalar ? ' with a scalar' : ''} is not supported (only 0, add of two blobs)`);
      }
      const inputs = only(layer, layer.bottoms, 'inputs', 2);
      return { kind: 'weighted-sum', layer, inputs, output: one(layer, layer.tops, 'output'), coefficients: [1, 1] };
    }
    case 'Interp': {
      const resizeType = paramInt(layer, 0, 0);
      const scaleH = paramFloat(layer, 1, 1);
      const scaleW = paramFloat(layer, 2, 1);
      if (resizeType !== 1) unsupported(layer, `resize_type ${resizeType} is not supported (only 1, nearest)`);
      if (paramInt(layer, 3, 0) !== 0 || paramInt(layer, 4, 0) !== 0 || paramInt(layer, 5, 0) !== 0) {
        unsupported(layer, 'a fixed or dynamic output size (params 3, 4, 5) is not supported, only scale factors');
      }
      if (!(scaleH > 0 && scaleW > 0)) unsupported(layer, `scale ${scaleH}x${scaleW} must be positive`);
      return { kind: 'resize-nearest', layer, input: one(layer, layer.bottoms, 'input'), output: one(layer, layer.tops, 'output'), scaleH, scaleW };
    }
    case 'PixelShuffle': {
      const factor = paramInt(layer, 0, 1);
      const mode = paramInt(layer, 1, 0);
      if (factor < 1) unsupported(layer, `upscale_factor ${factor} must be at least 1`);
      if (mode !== 0 && mode !== 1) unsupported(layer, `mode ${mode} is not supported (0 PyTorch order, 1 TensorFlow order)`);
      // ncnn mode 0 reads channel p*r*r + i*r + j (PyTorch, ONNX CRD); mode 1 reads (i*r + j)*C + p (ONNX DCR).
      return { kind: 'pixel-shuffle', layer, input: one(layer, layer.bottoms, 'input'), output: one(layer, layer.tops, 'output'), factor, mode: mode === 0 ? 'CRD' : 'DCR' };
    }
    default:
      unsupported(layer, `layer type "${layer.type}" is not supported (supported: ${SUPPORTED_LAYER_TYPES.join(', ')})`);
  }
}

/**
 * Reads every layer's params and weights. The graph must have exactly one Input layer and exactly
 * one blob that no layer consumes (the network output).
 * @throws ModelError `NcnnLayerUnsupported`, `NcnnParamInvalid` or `NcnnWeightsInvalid`
 */
export function readNcnnModel(graph: NcnnGraph, reader: NcnnWeightReader): NcnnModel {
  const inputs = graph.layers.filter((l) => l.type === 'Input');
  const inputLayer = inputs[0];
  if (inputs.length !== 1 || inputLayer === undefined) {
    throw new ModelError('NcnnLayerUnsupported', `converting ncnn graph: expected exactly one Input layer, found ${inputs.length}`);
  }
  const ops: NcnnOp[] = [];
  for (const layer of graph.layers) {
    const op = readLayer(layer, reader);
    if (op !== null) ops.push(op);
  }
  reader.assertFullyRead();

  const consumed = new Set(graph.layers.flatMap((l) => l.bottoms));
  const outputs = graph.layers.flatMap((l) => l.tops).filter((t) => !consumed.has(t));
  const output = outputs[0];
  if (outputs.length !== 1 || output === undefined) {
    throw new ModelError('NcnnLayerUnsupported', `converting ncnn graph: expected exactly one output blob, found ${outputs.length} (${outputs.join(', ')})`);
  }
  return { input: one(inputLayer, inputLayer.tops, 'output'), inputLayer, output, ops };
}
