/**
 * The bare engine, for benchmarks that set a whole `upscale run` beside it: a clip's frames decoded
 * up front (so only inference is timed) and the seconds one engine takes to upscale them all.
 */
import type { Logger } from 'pino';
import { createEngine, type InputFrame } from '../../worker/engine/engine.ts';
import { engineHooksFor, engineOptionsFor } from '../../worker/steps/engine-options.ts';
import { Storage } from '../../worker/storage/storage.ts';
import type { UpscaleSettings } from '../../worker/task.ts';
import { decodeAllRgb } from '../fixtures/clips.ts';
import { videoStream } from '../e2e/media-checks.ts';

/** Every frame of `source` as 8-bit RGB, with the video's size. */
export async function decodeFrames(source: string): Promise<{ frames: InputFrame[]; width: number; height: number }> {
  const video = await videoStream(source);
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  const rgb = await decodeAllRgb(source, 'format=rgb24');
  const size = width * height * 3;
  const frames: InputFrame[] = [];
  for (let i = 0; i * size < rgb.length; i++) frames.push({ data: rgb.subarray(i * size, (i + 1) * size), width, height, index: i, bitDepth: 8 });
  return { frames, width, height };
}

/** Seconds for a fresh engine to upscale every frame (after a warm-up frame). */
export async function timeBareEngine(frames: readonly InputFrame[], settings: UpscaleSettings, log: Logger): Promise<number> {
  const storage = new Storage();
  const engine = await createEngine(engineOptionsFor(settings), engineHooksFor(storage, log));
  try {
    const [first] = frames;
    if (first === undefined) throw new Error('no frames to upscale');
    await engine.upscale(first);
    const began = performance.now();
    let n = 0;
    for await (const _out of engine.upscaleStream(frames)) n++;
    if (n !== frames.length) throw new Error(`the engine returned ${n} of ${frames.length} frames`);
    return (performance.now() - began) / 1000;
  } finally {
    await engine.close();
    storage.close();
  }
}
