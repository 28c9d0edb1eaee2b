/**
 * Upscales one prepared frame: plans its tiles, submits them to the pool, pastes each tile's output
 * into the output frame as it arrives, and on an out-of-memory error re-plans the frame with
 * smaller tiles (remembering the smaller size for the frames after it) before giving up. A failed
 * frame is reported with its index and device; it is never skipped.
 */
import type { Logger } from 'pino';
import { UpscaleError } from '../errors.ts';
import type { PreparedFrame } from './frame-prep.ts';
import { onOutOfMemory } from './memory-policy.ts';
import { outputGeometry } from './output-size.ts';
import type { OutputRequest } from './output-size.ts';
import type { WorkItem } from './pool.ts';
import { extractRect, pasteTile, pixelBytes, placeTile } from './stitch.ts';
import { planTiles } from './tile-plan.ts';

/** An upscaled frame: packed RGB, at the input frame's bit depth. */
export interface OutputFrame {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly index: number;
  /** Bits per sample of `data`: 8 (rgb24) or 16 (rgb48le), the same as the input frame's. */
  readonly bitDepth: 8 | 16;
}

/** Shared, mutable tiling state: lowered for every later frame once a frame ran out of memory. */
export interface TilingState {
  tileSize: number;
  readonly tilePad: number;
}

export interface FrameJobContext {
  readonly modelScale: number;
  /** True when the session graph ends in the appended Resize (it then needs `output_size`). */
  readonly graphResize: boolean;
  readonly output: OutputRequest | undefined;
  readonly tiling: TilingState;
  /** Describes the model for messages, e.g. `RealESRGAN_x4plus (fp16)`. */
  readonly modelLabel: string;
  readonly submit: (items: readonly WorkItem[]) => void;
  readonly log: Logger;
}

/** Upscales `frame`; rejects with an UpscaleError naming the frame index and the device. */
export function runFrame(frame: PreparedFrame, context: FrameJobContext): Promise<OutputFrame> {
  return new Promise((resolve, reject) => {
    let geometry;
    try {
      geometry = outputGeometry(frame.width, frame.height, context.modelScale, context.output);
    } catch (error) {
      reject(new UpscaleError('InvalidArgument', `upscaling frame ${frame.index}: ${(error as Error).message}`, { subject: `frame ${frame.index}`, cause: error }));
      return;
    }
    if (geometry.resize && !context.graphResize) {
      reject(new UpscaleError('Internal', `upscaling frame ${frame.index}: the output needs a resize but the session graph has none`, { subject: `frame ${frame.index}` }));
      return;
    }
    const { rx, ry } = geometry;
    const bytes = pixelBytes(frame.bitDepth);
    const out = new Uint8Array(geometry.width * geometry.height * bytes);
    const largestEdge = Math.max(frame.width, frame.height);

    const attempt = (tileSize: number): void => {
      const plan = planTiles({ width: frame.width, height: frame.height, tileSize, tilePad: context.tiling.tilePad, alignX: rx.den, alignY: ry.den });
      let remaining = plan.tiles.length;
      let cancelled = false;
      const items = plan.tiles.map((tile): WorkItem => {
        const placement = placeTile(tile, rx, ry);
        const outputSize = context.graphResize ? ([placement.windowHeight, placement.windowWidth] as const) : undefined;
        return {
          shapeKey: `${plan.windowHeight}x${plan.windowWidth}>${placement.windowHeight}x${placement.windowWidth}`,
          pixels: plan.windowWidth * plan.windowHeight,
          width: plan.windowWidth,
          height: plan.windowHeight,
          outputSize,
          outputBytes: placement.windowWidth * placement.windowHeight * bytes,
          isCancelled: () => cancelled,
          fill: (target, offset) => extractRect(frame.data, frame.width, tile.window, target, offset, bytes),
          deliver: (output, offset, device) => {
            pasteTile(output, offset, placement, out, geometry.width, bytes);
            if (--remaining === 0) {
              context.log.debug({ frame: frame.index, device, tiles: plan.tiles.length }, 'Upscaled frame');
              resolve({ data: out, width: geometry.width, height: geometry.height, index: frame.index, bitDepth: frame.bitDepth });
            }
          },
          fail: (error, device, outOfMemory) => {
            if (cancelled) return;
            cancelled = true;
            const action = outOfMemory ? onOutOfMemory(1, tileSize, largestEdge) : { action: 'fail' as const };
            if (action.action === 'shrink-tiles') {
              if (context.tiling.tileSize === 0 || action.tileSize < context.tiling.tileSize) context.tiling.tileSize = action.tileSize;
              context.log.warn({ frame: frame.index, device, tileSize: action.tileSize, err: error.message }, 'Retrying frame with smaller tiles after running out of device memory');
              attempt(action.tileSize);
              return;
            }
            const what = outOfMemory ? 'ran out of device memory even with the smallest tiles' : error.message;
            reject(
              new UpscaleError(outOfMemory ? 'Unavailable' : 'Internal', `upscaling frame ${frame.index} on ${device} with ${context.modelLabel}: ${what}`, {
                subject: `frame ${frame.index}`,
                cause: error,
              }),
            );
          },
        };
      });
      context.submit(items);
    };
    attempt(context.tiling.tileSize);
  });
}
