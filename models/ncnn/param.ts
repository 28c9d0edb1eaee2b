/**
 * Parser for ncnn's text `.param` format (the format `ncnn::Net::load_param` reads):
 *
 *     7767517                      magic
 *     <layer count> <blob count>
 *     <type> <name> <bottom count> <top count> <bottom names...> <top names...> <id>=<value>...
 *
 * A value is an int, a float (written with `.` or an exponent) or, for ids written as
 * `-23300 - id`, an array `count,v1,v2,...`. Ids are 0..31 (ncnn's NCNN_MAX_PARAM_COUNT).
 */
import { ModelError } from '../model-error.ts';

export const NCNN_PARAM_MAGIC = 7767517;
const ARRAY_ID_BASE = -23300;
const MAX_PARAM_ID = 31;

/** One value of a layer's param dictionary. */
export type ParamValue = number | readonly number[];

/** One layer line of a `.param` file. */
export interface NcnnLayer {
  readonly type: string;
  readonly name: string;
  readonly bottoms: readonly string[];
  readonly tops: readonly string[];
  readonly params: ReadonlyMap<number, ParamValue>;
  /** 1-based line number in the .param text, for error messages. */
  readonly line: number;
}

/** A parsed `.param` file: layers in file order (which is ncnn's execution order). */
export interface NcnnGraph {
  readonly layers: readonly NcnnLayer[];
  readonly blobCount: number;
}

function fail(source: string, line: number, cause: string): never {
  throw new ModelError('NcnnParamInvalid', `parsing ncnn param ${source} line ${line}: ${cause}`);
}

function parseNumber(text: string, source: string, line: number, what: string): number {
  // ncnn treats a value as float when it holds '.', 'e' or 'E'; otherwise as an int.
  const isFloat = /[.eE]/.test(text);
  const pattern = isFloat ? /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/ : /^[-+]?\d+$/;
  if (!pattern.test(text)) fail(source, line, `${what} has value "${text}", which is not a number`);
  return isFloat ? Number.parseFloat(text) : Number.parseInt(text, 10);
}

function parseParam(token: string, source: string, line: number, layer: string): [number, ParamValue] {
  const eq = token.indexOf('=');
  if (eq <= 0) fail(source, line, `layer ${layer} has param "${token}", expected <id>=<value>`);
  const rawId = parseNumber(token.slice(0, eq), source, line, `layer ${layer} param id`);
  const text = token.slice(eq + 1);
  if (rawId <= ARRAY_ID_BASE) {
    const id = ARRAY_ID_BASE - rawId;
    const [countText = '', ...items] = text.split(',');
    const what = `layer ${layer} array param ${id}`;
    const count = parseNumber(countText, source, line, `${what} length`);
    if (count !== items.length) fail(source, line, `${what} declares ${count} values but has ${items.length}`);
    return [id, items.map((item) => parseNumber(item, source, line, what))];
  }
  return [rawId, parseNumber(text, source, line, `layer ${layer} param ${rawId}`)];
}

/**
 * Parses the text of an ncnn `.param` file.
 * @param text the file content
 * @param source a name for error messages (usually the file path)
 * @throws ModelError `NcnnParamInvalid` naming the line and the cause
 */
export function parseNcnnParam(text: string, source: string): NcnnGraph {
  const lines = text.split(/\r?\n/);
  const magic = lines[0]?.trim();
  if (magic !== String(NCNN_PARAM_MAGIC)) {
    fail(source, 1, `expected magic ${NCNN_PARAM_MAGIC}, found "${magic ?? ''}" (binary .param files are not supported)`);
  }
  const counts = (lines[1] ?? '').trim().split(/\s+/);
  if (counts.length !== 2) fail(source, 2, 'expected "<layer count> <blob count>"');
  const layerCount = parseNumber(counts[0] ?? '', source, 2, 'layer count');
  const blobCount = parseNumber(counts[1] ?? '', source, 2, 'blob count');

  const layers: NcnnLayer[] = [];
  const blobs = new Set<string>();
  for (let i = 2; i < lines.length; i++) {
    const tokens = (lines[i] ?? '').trim().split(/\s+/).filter((t) => t.length > 0);
    if (tokens.length === 0) continue;
    const lineNo = i + 1;
    const [type = '', name = '', bottomText = '', topText = ''] = tokens;
    if (tokens.length < 4) fail(source, lineNo, 'expected "<type> <name> <bottom count> <top count> ..."');
    const bottomCount = parseNumber(bottomText, source, lineNo, `layer ${name} bottom count`);
    const topCount = parseNumber(topText, source, lineNo, `layer ${name} top count`);
    const namesEnd = 4 + bottomCount + topCount;
    if (bottomCount < 0 || topCount < 0 || tokens.length < namesEnd) {
      fail(source, lineNo, `layer ${name} declares ${bottomCount} inputs and ${topCount} outputs but names fewer`);
    }
    const params = new Map<number, ParamValue>();
    for (const token of tokens.slice(namesEnd)) {
      const [id, value] = parseParam(token, source, lineNo, name);
      if (id < 0 || id > MAX_PARAM_ID) fail(source, lineNo, `layer ${name} has param id ${id}, outside 0..${MAX_PARAM_ID}`);
      params.set(id, value);
    }
    const layer: NcnnLayer = {
      type,
      name,
      bottoms: tokens.slice(4, 4 + bottomCount),
      tops: tokens.slice(4 + bottomCount, namesEnd),
      params,
      line: lineNo,
    };
    for (const b of layer.bottoms) {
      if (!blobs.has(b)) fail(source, lineNo, `layer ${name} reads blob "${b}" that no earlier layer produces`);
    }
    for (const t of layer.tops) {
      if (blobs.has(t)) fail(source, lineNo, `layer ${name} writes blob "${t}" that an earlier layer already produces`);
      blobs.add(t);
    }
    layers.push(layer);
  }
  if (layers.length !== layerCount) fail(source, 2, `header declares ${layerCount} layers but the file has ${layers.length}`);
  if (blobs.size !== blobCount) fail(source, 2, `header declares ${blobCount} blobs but the layers produce ${blobs.size}`);
  return { layers, blobCount };
}

/** "Convolution layer Conv_0 (line 4)": how errors name a layer. */
export function describeLayer(layer: NcnnLayer): string {
  return `${layer.type} layer ${layer.name} (line ${layer.line})`;
}

/** Reads an int param (ncnn's `pd.get(id, int)`), or `fallback` when absent. */
export function paramInt(layer: NcnnLayer, id: number, fallback: number): number {
  const v = layer.params.get(id);
  if (v === undefined) return fallback;
  if (typeof v !== 'number' || !Number.isInteger(v)) {
    throw new ModelError('NcnnParamInvalid', `reading ${describeLayer(layer)}: param ${id} must be an integer, found ${String(v)}`);
  }
  return v;
}

/** Reads a float param (ncnn's `pd.get(id, float)`), or `fallback` when absent. */
export function paramFloat(layer: NcnnLayer, id: number, fallback: number): number {
  const v = layer.params.get(id);
  if (v === undefined) return fallback;
  if (typeof v !== 'number') {
    throw new ModelError('NcnnParamInvalid', `reading ${describeLayer(layer)}: param ${id} must be a number, found an array`);
  }
  return v;
}

/** Reads an array param (ncnn's `pd.get(id, Mat())`); empty when absent. */
export function paramArray(layer: NcnnLayer, id: number): readonly number[] {
  const v = layer.params.get(id);
  if (v === undefined) return [];
  if (typeof v === 'number') {
    throw new ModelError('NcnnParamInvalid', `reading ${describeLayer(layer)}: param ${id} must be an array, found ${v}`);
  }
  return v;
}
