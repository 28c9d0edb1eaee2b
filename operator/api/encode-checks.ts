/**
 * The UpscaleJob checks that tie the output's container to the encode settings: the extension
 * names a container `upscale run` writes, the codec fits it, and the preset and CRF are the job's
 * encoder's. `upscale run` refuses the same before any work (worker/media/output-decision.ts);
 * without these a cluster job failed on its first shard pod (preset, CRF) or at assembly after
 * every shard (a codec the container cannot hold). Both forms come from the worker's tables:
 * {@link encodeIssues} for zod (upscalejob.ts), {@link encodeCelRules} for the API server (crd.ts),
 * with the same messages.
 *
 * The job's encoder is the CPU one unless `encoder: nvenc` (the operator resolves `auto` to the CPU:
 * pods of one job may land on GPUs with and without NVENC). Without a codec the job gets the
 * container's default, decided after the probe: av1 for .webm, else h264, or hevc for a source of
 * more than 8 bits, which takes the same presets and range as h264 (checked at generation time).
 */
import { containerFor, OUTPUT_EXTENSIONS, videoCodecsFor, type ContainerKind } from '../../worker/media/container-policy.ts';
import { CPU_ENCODERS, ENCODER_RULES, NVENC_ENCODERS, presetList, type EncoderRules } from '../../worker/media/encode-rules.ts';
import { defaultCodecs } from '../../worker/media/output-decision.ts';
import { VIDEO_CODECS, type VideoCodec } from '../../worker/media/video-codecs.ts';

const KINDS: readonly ContainerKind[] = ['mp4', 'mov', 'mkv', 'webm'];
const extensionsOf = (kind: ContainerKind): string[] => OUTPUT_EXTENSIONS.filter((e) => containerFor(`x${e}`)?.kind === kind);
const joined = (word: string) => (items: readonly string[]): string => (items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} ${word} ${items.at(-1)!}`);
const and = joined('and');
const or = joined('or');

/** The codec a job without one gets for a container (8-bit source; see the file comment). */
function defaultCodec(kind: ContainerKind): VideoCodec {
  const [eight, deep] = [defaultCodecs(kind, false)[0]!, defaultCodecs(kind, true)[0]!];
  if (JSON.stringify(ENCODER_RULES[CPU_ENCODERS[eight]]) !== JSON.stringify(ENCODER_RULES[CPU_ENCODERS[deep]])) {
    throw new Error(`the ${kind} defaults ${eight} and ${deep} take different presets or CRFs: the API's checks cannot know the source's depth`);
  }
  return eight;
}

/** What a codec's encoders take, after the codec's name: `: 0-51 (0-51 with encoder nvenc)`. */
const rulesText = (codec: VideoCodec, show: (r: EncoderRules) => string): string => {
  const cpu = ENCODER_RULES[CPU_ENCODERS[codec]];
  const nv = NVENC_ENCODERS[codec];
  const nvRules = nv === undefined ? undefined : ENCODER_RULES[nv];
  if (cpu === undefined) return ' (lossless): none';
  return `: ${show(cpu)}${nvRules !== undefined && show(nvRules) !== show(cpu) ? ` (${show(nvRules)} with encoder nvenc)` : ''}`;
};
/** `h264 and hevc: a; av1: b` for a text per codec, codecs with the same text together. */
const byCodec = (show: (r: EncoderRules) => string): string => {
  const groups = new Map<string, VideoCodec[]>();
  for (const c of VIDEO_CODECS) {
    const text = rulesText(c, show);
    groups.set(text, [...(groups.get(text) ?? []), c]);
  }
  return [...groups].map(([text, codecs]) => `${and(codecs)}${text}`).join('; ');
};
const defaultsText = `with no codec, ${KINDS.filter((k) => defaultCodec(k) !== defaultCodec('mp4')).map((k) => `${and(extensionsOf(k))} gets ${defaultCodec(k)}`).join(', ')} and other outputs ${defaultCodecs('mp4', false)[0]!} (${defaultCodecs('mp4', true)[0]!} for a source of more than 8 bits)`;

export const ENCODE_MESSAGES = {
  outputExtension: `output must end in ${or(OUTPUT_EXTENSIONS)} (any case): the container follows the extension`,
  codecContainer: `encode.codec does not fit the output's container: ${KINDS.map((k) => `${and(extensionsOf(k))} ${extensionsOf(k).length > 1 ? 'hold' : 'holds'} ${and(videoCodecsFor(k))}`).join('; ')}`,
  nvencCodec: `encode.encoder nvenc encodes ${and(Object.keys(NVENC_ENCODERS))} only: name one of them in encode.codec, or use encoder auto or cpu (${defaultsText})`,
  preset: `encode.preset is not a preset of the job's encoder: ${byCodec((r) => presetList(r.presets))} (${defaultsText})`,
  crf: `encode.crf is outside the job's encoder's range: ${byCodec((r) => `${r.crf[0]}-${r.crf[1]}`)} (${defaultsText})`,
} as const;

/** The fields these checks read. */
export interface EncodeFields {
  output: string;
  encode: { codec?: VideoCodec | undefined; crf?: number | undefined; preset?: string | undefined; encoder?: string | undefined };
}

/** What is wrong with the spec's output and encode settings, as `[path, message]`; none when fine. */
export function encodeIssues(spec: EncodeFields): [string[], string][] {
  const container = containerFor(spec.output);
  if (container === undefined) return [[['output'], ENCODE_MESSAGES.outputExtension]];
  const { codec: named, crf, preset, encoder: hardware } = spec.encode;
  if (named !== undefined && !videoCodecsFor(container.kind).includes(named)) return [[['encode', 'codec'], ENCODE_MESSAGES.codecContainer]];
  const codec = named ?? defaultCodec(container.kind);
  const encoder = hardware === 'nvenc' ? NVENC_ENCODERS[codec] : CPU_ENCODERS[codec];
  if (encoder === undefined) return [[['encode', 'encoder'], ENCODE_MESSAGES.nvencCodec]];
  const rules = ENCODER_RULES[encoder];
  const issues: [string[], string][] = [];
  if (preset !== undefined && !(rules?.presets.includes(preset) ?? false)) issues.push([['encode', 'preset'], ENCODE_MESSAGES.preset]);
  if (crf !== undefined && (rules === undefined || crf < rules.crf[0] || crf > rules.crf[1])) issues.push([['encode', 'crf'], ENCODE_MESSAGES.crf]);
  return issues;
}

/** A CEL string literal (JSON's escapes are a subset of CEL's). */
const cel = (s: string): string => JSON.stringify(s);
/** An RE2 (and JavaScript) pattern for names ending in one of `extensions`, any letter case. */
export function extensionPattern(extensions: readonly string[]): string {
  const anyCase = (ext: string) => [...ext.slice(1)].map((c) => (/[a-z]/.test(c) ? `[${c}${c.toUpperCase()}]` : c)).join('');
  return `[.](${extensions.map(anyCase).join('|')})$`;
}
const isKind = (kind: ContainerKind): string => `self.output.matches(${cel(extensionPattern(extensionsOf(kind)))})`;
const list = (items: readonly string[]): string => `[${items.map(cel).join(', ')}]`;

/**
 * CEL rules on `spec` for {@link encodeIssues}; each assumes the ones before it hold. None applies to
 * an output that fails `outputPattern` (the output's own rule says what is wrong with it).
 */
export function encodeCelRules(outputPattern: string): { rule: string; message: string; fieldPath: string; reason: 'FieldValueInvalid' }[] {
  const has = (field: string) => `has(self.encode.${field})`;
  const named = has('codec');
  // The job's codec: the named one, else the container's default.
  const others = KINDS.filter((k) => defaultCodec(k) !== defaultCodec('mp4'));
  const codec = `(${named} ? self.encode.codec : ${others.map((k) => `${isKind(k)} ? ${cel(defaultCodec(k))} : `).join('')}${cel(defaultCodec('mp4'))})`;
  const nvenc = `(${has('encoder')} && self.encode.encoder == 'nvenc')`;
  const fits = KINDS.filter((k) => videoCodecsFor(k).length < VIDEO_CODECS.length).map((k) => `(!${isKind(k)} || self.encode.codec in ${list(videoCodecsFor(k))})`);
  // One branch per (nvenc, codec) with an encoder; `none` for a combination without one.
  const byEncoder = (take: (r: EncoderRules | undefined) => string, none: string): string =>
    [...Object.keys(NVENC_ENCODERS).map((c) => ({ when: `${nvenc} && ${codec} == ${cel(c)}`, encoder: NVENC_ENCODERS[c as VideoCodec]! })), ...VIDEO_CODECS.map((c) => ({ when: `!${nvenc} && ${codec} == ${cel(c)}`, encoder: CPU_ENCODERS[c] }))]
      .map(({ when, encoder }) => `${when} ? ${take(ENCODER_RULES[encoder])} : `)
      .join('') + none;
  const rules = [
    { rule: `self.output.matches(${cel(extensionPattern(OUTPUT_EXTENSIONS))})`, message: ENCODE_MESSAGES.outputExtension, fieldPath: '.output', reason: 'FieldValueInvalid' },
    { rule: `!${named} || (${fits.join(' && ')})`, message: ENCODE_MESSAGES.codecContainer, fieldPath: '.encode.codec', reason: 'FieldValueInvalid' },
    { rule: `!${nvenc} || ${codec} in ${list(Object.keys(NVENC_ENCODERS))}`, message: ENCODE_MESSAGES.nvencCodec, fieldPath: '.encode.encoder', reason: 'FieldValueInvalid' },
    { rule: `!${has('preset')} || (${byEncoder((r) => (r === undefined ? 'false' : `self.encode.preset in ${list(r.presets)}`), 'false')})`, message: ENCODE_MESSAGES.preset, fieldPath: '.encode.preset', reason: 'FieldValueInvalid' },
    { rule: `!${has('crf')} || (${byEncoder((r) => (r === undefined ? 'false' : `self.encode.crf >= ${r.crf[0]} && self.encode.crf <= ${r.crf[1]}`), 'false')})`, message: ENCODE_MESSAGES.crf, fieldPath: '.encode.crf', reason: 'FieldValueInvalid' },
  ] as const;
  return rules.map((r) => ({ ...r, rule: `!self.output.matches(${cel(outputPattern)}) || ${r.rule}` }));
}
