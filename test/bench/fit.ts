/** Least-squares line through points, with r² and the largest residual relative to the fitted value. */
export interface LineFit {
  intercept: number;
  slope: number;
  r2: number;
  maxRelativeResidual: number;
}

/** Fits y = intercept + slope x to `points` ([x, y]); needs two distinct x. */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): LineFit {
  const n = points.length;
  const xs = new Set(points.map(([x]) => x));
  if (n < 2 || xs.size < 2) throw new Error(`fitting a line needs at least two distinct x, got ${n} point(s)`);
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = points.reduce((s, [, y]) => s + (y - my) ** 2, 0);
  const ssRes = points.reduce((s, [x, y]) => s + (y - (intercept + slope * x)) ** 2, 0);
  const maxRelativeResidual = Math.max(...points.map(([x, y]) => Math.abs(y - (intercept + slope * x)) / Math.abs(intercept + slope * x || 1)));
  return { intercept, slope, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot, maxRelativeResidual };
}
