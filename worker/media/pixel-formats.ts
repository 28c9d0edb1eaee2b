/**
 * Bit depth of a pixel format, from ffprobe's own pixel format table (asked once per process), so
 * that `yuv420p10le`, `p010le`, `gbrp12le` or `gray16le` need no hand-written parsing.
 */
import { z } from 'zod';
import { runFfprobe } from './ffprobe-run.ts';

const tableSchema = z.object({
  pixel_formats: z.array(
    z.object({ name: z.string(), components: z.array(z.object({ bit_depth: z.number() })).optional() }),
  ),
});

let table: Promise<Map<string, number>> | undefined;

async function loadTable(): Promise<Map<string, number>> {
  const res = await runFfprobe(['-show_pixel_formats', '-of', 'json']);
  const map = new Map<string, number>();
  if (res.code !== 0) return map;
  const parsed = tableSchema.safeParse(JSON.parse(res.stdout));
  if (!parsed.success) return map;
  for (const f of parsed.data.pixel_formats) {
    const depth = Math.max(0, ...(f.components ?? []).map((c) => c.bit_depth));
    if (depth > 0) map.set(f.name, depth);
  }
  return map;
}

/** Largest component bit depth of `pixFmt`, or undefined for an unknown name. */
export async function bitDepthOf(pixFmt: string): Promise<number | undefined> {
  table ??= loadTable();
  return (await table).get(pixFmt);
}
