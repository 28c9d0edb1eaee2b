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

/** Least-squares plane through points, with r² and the largest residual relative to the fitted value. */
export interface PlaneFit {
  intercept: number;
  /** Coefficients of the first and second variable. */
  a: number;
  b: number;
  r2: number;
  maxRelativeResidual: number;
}

/**
 * Fits y = intercept + a x1 + b x2 to `points` ([x1, x2, y]) by the normal equations; needs three
 * points that x1 and x2 do not tie to one line (else the two variables cannot be told apart).
 */
export function fitPlane(points: ReadonlyArray<readonly [number, number, number]>): PlaneFit {
  const n = points.length;
  const mean = (k: 0 | 1 | 2): number => points.reduce((s, p) => s + p[k], 0) / n;
  const [m1, m2, my] = [mean(0), mean(1), mean(2)];
  const sum = (f: (p: readonly [number, number, number]) => number): number => points.reduce((s, p) => s + f(p), 0);
  const s11 = sum(([x1]) => (x1 - m1) ** 2);
  const s22 = sum(([, x2]) => (x2 - m2) ** 2);
  const s12 = sum(([x1, x2]) => (x1 - m1) * (x2 - m2));
  const s1y = sum(([x1, , y]) => (x1 - m1) * (y - my));
  const s2y = sum(([, x2, y]) => (x2 - m2) * (y - my));
  const det = s11 * s22 - s12 * s12;
  if (n < 3 || !(Math.abs(det) > 1e-9 * Math.max(1, s11 * s22))) {
    throw new Error(`fitting a plane needs at least three points whose (x1, x2) do not lie on one line, got ${n} point(s)`);
  }
  const a = (s1y * s22 - s2y * s12) / det;
  const b = (s2y * s11 - s1y * s12) / det;
  const intercept = my - a * m1 - b * m2;
  const at = ([x1, x2]: readonly [number, number, number]): number => intercept + a * x1 + b * x2;
  const ssTot = sum(([, , y]) => (y - my) ** 2);
  const ssRes = sum((p) => (p[2] - at(p)) ** 2);
  const maxRelativeResidual = Math.max(...points.map((p) => Math.abs(p[2] - at(p)) / Math.abs(at(p) || 1)));
  return { intercept, a, b, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot, maxRelativeResidual };
}
