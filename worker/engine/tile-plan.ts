/**
 * Pure tile planning in Real-ESRGAN's tile/tile_pad scheme, with one change that makes every tile
 * batchable: all windows of a frame have the same size. Each tile has a *core* (the input pixels
 * whose output it contributes) and a *window* (core plus up to `pad` pixels of context on each
 * side, the input actually fed to the model). Real-ESRGAN clamps the window at the frame edge, so
 * edge windows are smaller; here the window is instead slid back inside the frame, which keeps at
 * least `pad` pixels of context on every interior side and yields one window shape per frame.
 *
 * Where a window edge is the frame edge the model sees exactly what it sees untiled (zero padding
 * in both cases), so a core pixel differs from the untiled result only if its distance to an
 * interior window edge is smaller than the model's receptive-field radius.
 */

/** A rectangle in input pixels. */
export interface Rect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** One tile: the model runs on `window`, and the part of its output covering `core` is kept. */
export interface Tile {
  readonly core: Rect;
  readonly window: Rect;
}

/** Every tile of one frame; all windows share `windowWidth` x `windowHeight`. */
export interface TilePlan {
  readonly width: number;
  readonly height: number;
  readonly windowWidth: number;
  readonly windowHeight: number;
  readonly tiles: readonly Tile[];
}

export interface TilePlanRequest {
  readonly width: number;
  readonly height: number;
  /** Largest core edge in input pixels; 0 or a value >= the frame size means one untiled window. */
  readonly tileSize: number;
  /** Context pixels around each core (Real-ESRGAN's tile_pad). */
  readonly tilePad: number;
  /**
   * Core and window positions are multiples of these (default 1). A non-integer output ratio p/q
   * needs multiples of q so that every tile's output lands on whole output pixels.
   */
  readonly alignX?: number;
  readonly alignY?: number;
}

interface AxisSpan {
  readonly coreStart: number;
  readonly coreEnd: number;
  readonly windowStart: number;
}

interface AxisPlan {
  readonly windowLength: number;
  readonly spans: readonly AxisSpan[];
}

const roundUpTo = (value: number, multiple: number): number => Math.ceil(value / multiple) * multiple;

/**
 * Plans one axis: balanced cores (no sliver tile at the end), windows of one length slid inside
 * [0, length). `length` must be a multiple of `align`.
 */
export function planAxis(length: number, tileSize: number, pad: number, align = 1): AxisPlan {
  if (tileSize <= 0 || length <= tileSize) {
    return { windowLength: length, spans: [{ coreStart: 0, coreEnd: length, windowStart: 0 }] };
  }
  const count = Math.ceil(length / tileSize);
  const coreLength = Math.min(length, roundUpTo(Math.ceil(length / count), align));
  const windowLength = Math.min(length, coreLength + 2 * roundUpTo(pad, align));
  const spans: AxisSpan[] = [];
  for (let coreStart = 0; coreStart < length; coreStart += coreLength) {
    const coreEnd = Math.min(length, coreStart + coreLength);
    const padBefore = roundUpTo(pad, align);
    const windowStart = Math.max(0, Math.min(coreStart - padBefore, length - windowLength));
    spans.push({ coreStart, coreEnd, windowStart });
  }
  return { windowLength, spans };
}

/**
 * Cuts a frame into tiles, rows first (the order tiles are batched and stitched in).
 * @throws RangeError when a dimension is not positive or not a multiple of its alignment
 */
export function planTiles(request: TilePlanRequest): TilePlan {
  const { width, height, tileSize, tilePad } = request;
  const alignX = request.alignX ?? 1;
  const alignY = request.alignY ?? 1;
  if (!(width > 0 && height > 0 && Number.isInteger(width) && Number.isInteger(height))) {
    throw new RangeError(`planning tiles: frame size ${width}x${height} is not a positive integer size`);
  }
  if (width % alignX !== 0 || height % alignY !== 0) {
    throw new RangeError(`planning tiles: frame size ${width}x${height} is not a multiple of the alignment ${alignX}x${alignY}`);
  }
  // A tile smaller than the alignment could never be placed; round it up instead.
  const columns = planAxis(width, tileSize > 0 ? Math.max(tileSize, alignX) : 0, tilePad, alignX);
  const rows = planAxis(height, tileSize > 0 ? Math.max(tileSize, alignY) : 0, tilePad, alignY);
  const tiles: Tile[] = [];
  for (const row of rows.spans) {
    for (const column of columns.spans) {
      tiles.push({
        core: { x: column.coreStart, y: row.coreStart, width: column.coreEnd - column.coreStart, height: row.coreEnd - row.coreStart },
        window: { x: column.windowStart, y: row.windowStart, width: columns.windowLength, height: rows.windowLength },
      });
    }
  }
  return { width, height, windowWidth: columns.windowLength, windowHeight: rows.windowLength, tiles };
}

/**
 * Distance from `x` to the nearest window edge that is not a frame edge, over all tiles whose core
 * holds the pixel; Infinity when no interior window edge exists (an untiled frame). Tests use it to
 * find the pixels a finite receptive field can reach across a tile border.
 */
export function interiorEdgeDistance(plan: TilePlan, x: number, y: number): number {
  for (const { core, window } of plan.tiles) {
    if (x < core.x || x >= core.x + core.width || y < core.y || y >= core.y + core.height) continue;
    let distance = Infinity;
    if (window.x > 0) distance = Math.min(distance, x - window.x);
    if (window.x + window.width < plan.width) distance = Math.min(distance, window.x + window.width - 1 - x);
    if (window.y > 0) distance = Math.min(distance, y - window.y);
    if (window.y + window.height < plan.height) distance = Math.min(distance, window.y + window.height - 1 - y);
    return distance;
  }
  throw new RangeError(`pixel ${x},${y} is outside the ${plan.width}x${plan.height} frame`);
}
