/**
 * Writes small ncnn .param/.bin pairs for tests, in the format ncnn's own tools write (see
 * ncnn/modelbin.ts for the weight layout), so no binary fixtures are committed.
 */
import { floatToHalf } from '../float16.ts';
import { TAG_FLOAT16, TAG_FLOAT32 } from '../ncnn/modelbin.ts';

/** One array in the .bin: tagged (ncnn `load(w, 0)`) or raw fp32 (`load(w, 1)`). */
export type FixtureArray =
  | { readonly tagged: 'fp16' | 'fp32'; readonly values: readonly number[] }
  | { readonly tag: number; readonly bytes: number }
  | { readonly raw: readonly number[] };

export interface FixtureLayer {
  readonly type: string;
  readonly name: string;
  readonly bottoms?: readonly string[];
  readonly tops: readonly string[];
  /** Param text as it appears in the file, e.g. "0=8 1=3 -23310=1,1.0e-01". */
  readonly params?: string;
  readonly weights?: readonly FixtureArray[];
}

/** The .param text for `layers`. */
export function fixtureParam(layers: readonly FixtureLayer[]): string {
  const blobs = new Set(layers.flatMap((l) => l.tops));
  const lines = layers.map((l) => {
    const bottoms = l.bottoms ?? [];
    return [l.type, l.name, bottoms.length, l.tops.length, ...bottoms, ...l.tops, l.params ?? ''].join(' ').trimEnd();
  });
  return `7767517\n${layers.length} ${blobs.size}\n${lines.join('\n')}\n`;
}

/** The .bin bytes for `layers`, arrays in layer order. */
export function fixtureBin(layers: readonly FixtureLayer[]): Uint8Array {
  const parts: Uint8Array[] = [];
  const u32 = (v: number): Uint8Array => {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v, true);
    return b;
  };
  const f32 = (values: readonly number[]): Uint8Array => {
    const b = new Uint8Array(values.length * 4);
    const view = new DataView(b.buffer);
    values.forEach((v, i) => view.setFloat32(i * 4, v, true));
    return b;
  };
  for (const array of layers.flatMap((l) => l.weights ?? [])) {
    if ('raw' in array) {
      parts.push(f32(array.raw));
    } else if ('tag' in array) {
      parts.push(u32(array.tag), new Uint8Array(array.bytes));
    } else if (array.tagged === 'fp32') {
      parts.push(u32(TAG_FLOAT32), f32(array.values));
    } else {
      const b = new Uint8Array((array.values.length * 2 + 3) & ~3); // padded to 4 bytes, as ncnn writes
      const view = new DataView(b.buffer);
      array.values.forEach((v, i) => view.setUint16(i * 2, floatToHalf(v), true));
      parts.push(u32(TAG_FLOAT16), b);
    }
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Deterministic pseudo-random values in [-amplitude, amplitude) (a small LCG; no Math.random). */
export function pseudoRandom(count: number, seed: number, amplitude: number): number[] {
  let state = seed >>> 0;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32) * 2 * amplitude - amplitude;
  });
}

/**
 * A small network that uses every supported layer type and option: Split, Convolution (fp16 and
 * fp32 weights, bias and none, no/ReLU/leaky activation, 1x1 and 3x3), PReLU (per channel and
 * shared), Concat, Eltwise with coefficients, PixelShuffle x4, Interp nearest x4, BinaryOp add.
 * Input 3 channels, output 3 channels at 4x.
 */
export function allLayersFixture(): FixtureLayer[] {
  return [
    { type: 'Input', name: 'in0', tops: ['data'] },
    { type: 'Split', name: 'split0', bottoms: ['data'], tops: ['d0', 'd1'] },
    {
      type: 'Convolution', name: 'conv0', bottoms: ['d0'], tops: ['x'], params: '0=8 1=3 4=1 5=1 6=216 9=2 -23310=1,1.000000e-01',
      weights: [{ tagged: 'fp16', values: pseudoRandom(216, 1, 0.3) }, { raw: pseudoRandom(8, 2, 0.1) }],
    },
    { type: 'PReLU', name: 'prelu0', bottoms: ['x'], tops: ['y'], params: '0=8', weights: [{ raw: pseudoRandom(8, 3, 0.5) }] },
    { type: 'Split', name: 'split1', bottoms: ['y'], tops: ['y0', 'y1', 'y2'] },
    {
      type: 'Convolution', name: 'conv1', bottoms: ['y0'], tops: ['z'], params: '0=8 1=3 4=1 5=1 6=576 9=1',
      weights: [{ tagged: 'fp32', values: pseudoRandom(576, 4, 0.2) }, { raw: pseudoRandom(8, 5, 0.1) }],
    },
    { type: 'Concat', name: 'cat0', bottoms: ['y1', 'z'], tops: ['w'], params: '0=0' },
    { type: 'Convolution', name: 'conv2', bottoms: ['w'], tops: ['v'], params: '0=8 1=1 6=128', weights: [{ tagged: 'fp16', values: pseudoRandom(128, 6, 0.3) }] },
    { type: 'Eltwise', name: 'sum0', bottoms: ['v', 'y2'], tops: ['s'], params: '0=1 -23301=2,5.000000e-01,1.000000e+00' },
    { type: 'PReLU', name: 'prelu1', bottoms: ['s'], tops: ['s1'], params: '0=1', weights: [{ raw: [0.25] }] },
    {
      type: 'Convolution', name: 'conv3', bottoms: ['s1'], tops: ['t'], params: '0=48 1=3 4=1 5=1 6=3456',
      weights: [{ tagged: 'fp16', values: pseudoRandom(3456, 7, 0.1) }, { raw: pseudoRandom(48, 8, 0.05) }],
    },
    { type: 'PixelShuffle', name: 'shuffle0', bottoms: ['t'], tops: ['up'], params: '0=4' },
    { type: 'Interp', name: 'interp0', bottoms: ['d1'], tops: ['near'], params: '0=1 1=4.000000e+00 2=4.000000e+00' },
    { type: 'BinaryOp', name: 'add0', bottoms: ['up', 'near'], tops: ['output'], params: '0=0' },
  ];
}
