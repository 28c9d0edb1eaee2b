/**
 * Deinterlacing decision (pure): interlaced sources (probed `field_order` tt, bb, tb, bt) are
 * deinterlaced before the model by default, since the model would otherwise upscale the combing of
 * two fields as picture detail. `bwdif` in `send_frame` mode makes one frame per frame, so frame
 * counts and timestamps are unchanged (its doubled time base is halved back, see extract.ts).
 */

/** `auto`: deinterlace sources probed as interlaced; `off`: keep the fields as they are. */
export const DEINTERLACE_CHOICES = ['auto', 'off'] as const;
export type DeinterlaceMode = (typeof DEINTERLACE_CHOICES)[number];

/** Field orders ffprobe reports for interlaced video. */
const INTERLACED = new Set(['tt', 'bb', 'tb', 'bt']);

/** True when the probe's `field_order` says interlaced. */
export function isInterlaced(fieldOrder: string | null): boolean {
  return fieldOrder !== null && INTERLACED.has(fieldOrder);
}

/**
 * The filters that deinterlace the source before selection, or none (progressive, unknown field
 * order, or `off`). Every frame is deinterlaced (`deint=all`): the stream says it is interlaced even
 * where a decoder does not flag single frames. The field order comes from each decoded frame
 * (`parity=auto`), not from the stream's `field_order`: ffmpeg itself writes `tb` for
 * top-field-first streams it encodes, so the stream tag is not a reliable parity.
 */
export function deinterlaceFilters(fieldOrder: string | null, mode: DeinterlaceMode): string[] {
  if (mode === 'off' || !isInterlaced(fieldOrder)) return [];
  // bwdif doubles the time base (and every pts); settb halves it back, exactly, to the source's.
  return [`bwdif=mode=send_frame:parity=auto:deint=all`, 'settb=expr=intb*2'];
}
