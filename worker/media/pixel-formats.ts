/**
 * Pixel format facts from ffprobe's own pixel format table (asked once per process): bit depth, and
 * whether a format holds RGB (or palette), gray or YUV samples and an alpha channel, so that
 * `yuv420p10le`, `p010le`, `gbrp12le`, `bgr0` or `gray16le` need no hand-written parsing.
 */
import { z } from 'zod';
import { ffprobePath } from './ffmpeg-paths.ts';
import { pixelFormatTableRun, TableRunError } from './ffmpeg-tables.ts';
import { keptUntilFailure } from './kept-until-failure.ts';

/** How a format codes colour: RGB (palette included), luma only, or luma + chroma. */
export type ColourModel = 'rgb' | 'gray' | 'yuv';

export interface PixelFormatInfo {
  bitDepth: number;
  model: ColourModel;
  alpha: boolean;
}

const flag = z.number().optional();
const tableSchema = z.object({
  pixel_formats: z.array(
    z.object({
      name: z.string(),
      nb_components: z.number().optional(),
      flags: z.object({ rgb: flag, palette: flag, alpha: flag }).loose().optional(),
      components: z.array(z.object({ bit_depth: z.number() })).optional(),
    }),
  ),
});

/** One table per ffprobe path (FFPROBE_PATH may change between calls); a failed load is not kept. */
const tables = new Map<string, Promise<Map<string, PixelFormatInfo>>>();

async function loadTable(): Promise<Map<string, PixelFormatInfo>> {
  const map = new Map<string, PixelFormatInfo>();
  let stdout: string;
  try {
    stdout = (await pixelFormatTableRun()).stdout;
  } catch (error) {
    // An ffprobe that runs but gives no table: every format is unknown (the probe says so, naming
    // it). One killed by a signal said nothing about its table: that is thrown, and not cached.
    if (error instanceof TableRunError && error.errno === undefined && error.signal === null) return map;
    throw error;
  }
  const parsed = tableSchema.safeParse(JSON.parse(stdout));
  if (!parsed.success) return map;
  for (const f of parsed.data.pixel_formats) {
    const depth = Math.max(0, ...(f.components ?? []).map((c) => c.bit_depth));
    if (depth === 0) continue;
    const rgb = f.flags?.rgb === 1 || f.flags?.palette === 1;
    const model: ColourModel = rgb ? 'rgb' : (f.nb_components ?? 3) <= 2 ? 'gray' : 'yuv';
    map.set(f.name, { bitDepth: depth, model, alpha: f.flags?.alpha === 1 });
  }
  return map;
}

/** What the table says about `pixFmt`, or undefined for an unknown name. */
export async function pixelFormatInfo(pixFmt: string): Promise<PixelFormatInfo | undefined> {
  return (await keptUntilFailure(tables, ffprobePath(), loadTable)).get(pixFmt);
}

/** Largest component bit depth of `pixFmt`, or undefined for an unknown name. */
export async function bitDepthOf(pixFmt: string): Promise<number | undefined> {
  return (await pixelFormatInfo(pixFmt))?.bitDepth;
}
