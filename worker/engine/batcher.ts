/**
 * Pure batch selection: which queued images go into the next run. Only images of one shape can
 * share a tensor; the head of the queue always goes (nothing starves), and later images of the same
 * shape join it within the count and pixel limits.
 */

export interface BatchCandidate {
  /** Equal keys mean equal input and output shapes. */
  readonly shapeKey: string;
  /** Input pixels of the image. */
  readonly pixels: number;
}

export interface BatchLimits {
  readonly maxBatch: number;
  /** Input pixels one run may hold; the head is taken even if it alone exceeds this. */
  readonly maxPixels: number;
  /** How far past the head to look for images of the same shape. */
  readonly lookahead: number;
}

/** Indices (ascending) of the queue entries that form the next batch; empty for an empty queue. */
export function selectBatch(queue: readonly BatchCandidate[], limits: BatchLimits): number[] {
  const head = queue[0];
  if (head === undefined) return [];
  const chosen = [0];
  let pixels = head.pixels;
  const end = Math.min(queue.length, limits.lookahead + 1);
  for (let i = 1; i < end && chosen.length < limits.maxBatch; i++) {
    const item = queue[i];
    if (item === undefined || item.shapeKey !== head.shapeKey) continue;
    if (pixels + item.pixels > limits.maxPixels) break;
    chosen.push(i);
    pixels += item.pixels;
  }
  return chosen;
}
