/**
 * Converts one catalogue model's ncnn files into ONNX bytes: parse the .param, read the .bin,
 * build the graph, serialize. Pure apart from CPU time: no file or network access.
 */
import type { CatalogueModel, Precision } from '../catalogue.ts';
import { METADATA_KEYS, MODEL_IO_CONTRACT, MODEL_IO_CONTRACT_UINT16 } from '../io-contract.ts';
import type { SampleType } from '../io-contract.ts';
import { ModelError } from '../model-error.ts';
import { readNcnnModel } from '../ncnn/layers.ts';
import { NcnnWeightReader } from '../ncnn/modelbin.ts';
import { parseNcnnParam } from '../ncnn/param.ts';
import { encodeOnnxModel } from '../onnx/schema.ts';
import { ncnnToOnnx } from './to-onnx.ts';

/**
 * Version of the converter's output. Bump it whenever the ONNX it writes changes, so cached
 * builds (models/dist/*.stamp.json) are redone.
 */
export const CONVERTER_VERSION = '1.1.0';

/** The ncnn files of one model, with names for error messages. */
export interface NcnnSources {
  readonly paramText: string;
  readonly paramName: string;
  readonly binBytes: Uint8Array;
  readonly binName: string;
}

function metadata(model: CatalogueModel, precision: Precision, samples: SampleType): Record<string, string> {
  const w = model.weights;
  return {
    [METADATA_KEYS.modelId]: model.id,
    [METADATA_KEYS.scale]: String(model.scale),
    [METADATA_KEYS.precision]: precision,
    [METADATA_KEYS.ioContract]: samples === 'uint16' ? MODEL_IO_CONTRACT_UINT16 : MODEL_IO_CONTRACT,
    [METADATA_KEYS.architecture]: model.architecture,
    [METADATA_KEYS.source]: `${w.registry}:${w.package}@${w.version} ${w.param.path} ${w.bin.path}`,
    [METADATA_KEYS.sourceParamSha256]: w.param.sha256,
    [METADATA_KEYS.sourceBinSha256]: w.bin.sha256,
    [METADATA_KEYS.license]: `${model.license.spdx}; ${model.license.project}, ${model.license.copyright}; ${model.license.url}`,
    [METADATA_KEYS.converterVersion]: CONVERTER_VERSION,
  };
}

/** One built file: its precision, I/O sample type and bytes. */
export interface ConvertedModel {
  readonly precision: Precision;
  readonly samples: SampleType;
  readonly bytes: Uint8Array;
}

/**
 * Converts a model to ONNX bytes in each requested precision and sample type.
 * @throws ModelError from parsing, reading or converting, naming the file and layer
 */
export function convertNcnnModel(model: CatalogueModel, sources: NcnnSources, precisions: readonly Precision[], sampleTypes: readonly SampleType[] = ['uint8']): ConvertedModel[] {
  const graph = parseNcnnParam(sources.paramText, sources.paramName);
  const network = readNcnnModel(graph, new NcnnWeightReader(sources.binBytes, sources.binName));
  const out: ConvertedModel[] = [];
  for (const samples of sampleTypes) {
    for (const precision of precisions) {
      const onnx = ncnnToOnnx(network, {
        precision,
        samples,
        graphName: model.id,
        scale: model.scale,
        producerVersion: CONVERTER_VERSION,
        docString:
          `${model.id} (${model.description}), ${precision}, ${samples} I/O, converted from Real-ESRGAN's ncnn weights by upscale-operator. ` +
          `Weights: ${model.license.project}, ${model.license.copyright}, ${model.license.spdx}.`,
        metadata: metadata(model, precision, samples),
      });
      try {
        out.push({ precision, samples, bytes: encodeOnnxModel(onnx) });
      } catch (cause) {
        throw new ModelError('OnnxWriteFailed', `serializing ONNX for model ${model.id} (${precision}, ${samples}): ${String(cause)}`, { cause });
      }
    }
  }
  return out;
}
