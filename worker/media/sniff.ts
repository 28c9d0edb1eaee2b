/**
 * A look at a source's first bytes, for one decision ffprobe cannot make: "moov atom not found"
 * means a cut MP4/MOV (its boxes start fine, the index is missing) or a file that was never one
 * (a text file named `.mp4`: ffprobe picked the mov demuxer from the name). Only the first box
 * header tells them apart.
 */
import { open } from 'node:fs/promises';
import { isUrlInput } from './input-policy.ts';

/** ISO BMFF / QuickTime top-level box types a real file starts with. */
const FIRST_BOXES = new Set(['ftyp', 'moov', 'mdat', 'free', 'skip', 'wide', 'pnot', 'uuid', 'meta', 'styp', 'sidx', 'moof', 'junk', 'pdin']);

/** The first `n` bytes of a local file or an http(s) URL (a ranged GET); undefined when unreadable. */
export async function headBytes(input: string, n: number): Promise<Buffer | undefined> {
  try {
    if (isUrlInput(input)) {
      const res = await fetch(input, { headers: { Range: `bytes=0-${n - 1}` }, redirect: 'error', signal: AbortSignal.timeout(10_000) });
      if (!res.ok) return undefined;
      return Buffer.from(await res.arrayBuffer()).subarray(0, n);
    }
    const file = await open(input, 'r');
    try {
      const buf = Buffer.alloc(n);
      const { bytesRead } = await file.read(buf, 0, n, 0);
      return buf.subarray(0, bytesRead);
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

/** True when the bytes start like an MP4/MOV box; false when they cannot be one. */
export function startsLikeIsoBmff(head: Buffer): boolean {
  if (head.length < 8) return false;
  return FIRST_BOXES.has(head.subarray(4, 8).toString('latin1'));
}
