/**
 * HDR10 static metadata (pure): the mastering display colour volume and content light level that
 * ffprobe reports as frame side data, kept in the probe and handed to x265 (`master-display`,
 * `max-cll`), the encoder here that writes them. Other encoders keep the HDR tags only.
 */
import { z } from 'zod';

/** Mastering display in x265's units: chromaticities in 0.00002, luminance in 0.0001 cd/m². */
export const hdrMetadataSchema = z.object({
  masterDisplay: z
    .object({
      red: z.tuple([z.int(), z.int()]),
      green: z.tuple([z.int(), z.int()]),
      blue: z.tuple([z.int(), z.int()]),
      whitePoint: z.tuple([z.int(), z.int()]),
      maxLuminance: z.int(),
      minLuminance: z.int(),
    })
    .nullable(),
  /** Maximum content and frame-average light level, cd/m². */
  contentLight: z.object({ maxContent: z.int(), maxAverage: z.int() }).nullable(),
});
export type HdrMetadata = z.infer<typeof hdrMetadataSchema>;

const sideData = z.array(z.record(z.string(), z.unknown()));

/** "num/den" scaled to `unit` per 1 (e.g. 50000 for x265's chromaticities); NaN when malformed. */
function scaled(v: unknown, unit: number): number {
  const m = typeof v === 'string' ? /^(\d+)\/(\d+)$/.exec(v) : null;
  if (!m || Number(m[2]) === 0) return Number.NaN;
  return Math.round((Number(m[1]) / Number(m[2])) * unit);
}

/** The HDR10 metadata in a frame's `side_data_list`, or null when it carries none (or garbage). */
export function hdrMetadataFrom(list: unknown): HdrMetadata | null {
  const parsed = sideData.safeParse(list);
  if (!parsed.success) return null;
  const md = parsed.data.find((d) => d['side_data_type'] === 'Mastering display metadata');
  const cl = parsed.data.find((d) => d['side_data_type'] === 'Content light level metadata');
  const xy = (k: string): [number, number] => [scaled(md?.[`${k}_x`], 50000), scaled(md?.[`${k}_y`], 50000)];
  const masterDisplay = md
    ? { red: xy('red'), green: xy('green'), blue: xy('blue'), whitePoint: xy('white_point'), maxLuminance: scaled(md['max_luminance'], 10000), minLuminance: scaled(md['min_luminance'], 10000) }
    : null;
  const contentLight = cl && typeof cl['max_content'] === 'number' && typeof cl['max_average'] === 'number' ? { maxContent: cl['max_content'], maxAverage: cl['max_average'] } : null;
  const out = hdrMetadataSchema.safeParse({ masterDisplay, contentLight });
  if (!out.success || (out.data.masterDisplay === null && out.data.contentLight === null)) return null;
  return out.data;
}

/** x265 parameters writing the metadata (`hdr10=1:master-display=...:max-cll=...`), or none. */
export function x265HdrParams(hdr: HdrMetadata | null): string[] {
  if (hdr === null) return [];
  const out = ['hdr10=1'];
  const d = hdr.masterDisplay;
  if (d) {
    const p = (xy: readonly [number, number]): string => `(${xy[0]},${xy[1]})`;
    out.push(`master-display=G${p(d.green)}B${p(d.blue)}R${p(d.red)}WP${p(d.whitePoint)}L(${d.maxLuminance},${d.minLuminance})`);
  }
  if (hdr.contentLight) out.push(`max-cll=${hdr.contentLight.maxContent},${hdr.contentLight.maxAverage}`);
  return out;
}

/** `encoderOptions` with the metadata appended to libx265's `-x265-params` (others unchanged). */
export function withHdrParams(options: readonly string[], hdr: HdrMetadata | null): string[] {
  const out = [...options];
  const i = out.indexOf('-x265-params');
  const extra = x265HdrParams(hdr);
  if (i >= 0 && i + 1 < out.length && extra.length > 0) out[i + 1] = [out[i + 1], ...extra].filter((s) => s !== '').join(':');
  return out;
}
