/**
 * Counts the cost of an ONNX super-resolution graph per input pixel: 2 FLOPs per multiply-add of
 * every Conv, each Conv weighted by the area its output has relative to the graph input (Resize and
 * DepthToSpace grow it, strides shrink it). Other operators are elementwise or data movement and are
 * left out: they are well under 1% of the total for these networks.
 */
import { z } from 'zod';
import { decodeOnnxModel } from '../onnx/schema.ts';

const attributeSchema = z.object({ name: z.string(), i: z.number().optional(), ints: z.array(z.number()).optional() });
const nodeSchema = z.object({
  opType: z.string(),
  name: z.string().optional(),
  input: z.array(z.string()).default([]),
  output: z.array(z.string()).default([]),
  attribute: z.array(attributeSchema).default([]),
});
const tensorSchema = z.object({
  name: z.string(),
  dims: z.array(z.number()).default([]),
  dataType: z.number().optional(),
  rawData: z.instanceof(Uint8Array).optional(),
  floatData: z.array(z.number()).optional(),
});
const modelSchema = z.object({
  graph: z.object({
    node: z.array(nodeSchema).default([]),
    initializer: z.array(tensorSchema).default([]),
    input: z.array(z.object({ name: z.string() })).default([]),
  }),
});

type Node = z.infer<typeof nodeSchema>;
type Tensor = z.infer<typeof tensorSchema>;

function floatValues(t: Tensor): number[] {
  if (t.floatData !== undefined && t.floatData.length > 0) return t.floatData;
  const raw = t.rawData;
  if (raw === undefined || t.dataType !== 1) return [];
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  return Array.from({ length: raw.byteLength / 4 }, (_, i) => view.getFloat32(i * 4, true));
}

function attr(node: Node, name: string): z.infer<typeof attributeSchema> | undefined {
  return node.attribute.find((a) => a.name === name);
}

/**
 * FLOPs per input pixel of a decoded ONNX model (see the module comment for what counts).
 * @param model the output of `decodeOnnxModel`
 * @throws Error when a Conv's weight or a Resize's scales are not initializers
 */
export function convFlopsPerInputPixel(model: unknown): number {
  const { graph } = modelSchema.parse(model);
  const initializers = new Map(graph.initializer.map((t) => [t.name, t]));
  // Area of each tensor relative to the graph input's H x W.
  const area = new Map<string, number>(graph.input.map((i) => [i.name, 1]));
  let macs = 0;
  for (const node of graph.node) {
    const inputArea = Math.max(0, ...node.input.map((i) => area.get(i) ?? 0));
    let outArea = inputArea;
    if (node.opType === 'Conv') {
      const weight = initializers.get(node.input[1] ?? '');
      if (weight === undefined || weight.dims.length !== 4) throw new Error(`counting FLOPs: Conv ${node.name ?? ''} has no constant 4-d weight`);
      const [o = 0, i = 0, kh = 0, kw = 0] = weight.dims;
      const [sh = 1, sw = 1] = attr(node, 'strides')?.ints ?? [];
      outArea = inputArea / (sh * sw);
      macs += o * i * kh * kw * outArea;
    } else if (node.opType === 'Resize') {
      const scales = floatValues(initializers.get(node.input[2] ?? '') ?? { name: '', dims: [] });
      if (scales.length !== 4) throw new Error(`counting FLOPs: Resize ${node.name ?? ''} has no constant 4 scales`);
      outArea = inputArea * (scales[2] ?? 1) * (scales[3] ?? 1);
    } else if (node.opType === 'DepthToSpace') {
      const r = attr(node, 'blocksize')?.i ?? 1;
      outArea = inputArea * r * r;
    }
    for (const out of node.output) area.set(out, outArea);
  }
  return 2 * macs;
}

/** FLOPs per input pixel of an ONNX file's bytes. */
export function onnxFlopsPerInputPixel(bytes: Uint8Array): number {
  return convFlopsPerInputPixel(decodeOnnxModel(bytes));
}
