/** A small hand-written SVG line plot (no dependencies): efficiency against GPUs on a log2 x axis. */

export interface Series {
  name: string;
  colour: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw markers only (measured points), no line. */
  markersOnly?: boolean;
}

const W = 640;
const H = 400;
const M = { left: 60, right: 20, top: 40, bottom: 50 };

function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** An SVG document: x = GPUs (log2), y = 0..1 (efficiency). */
export function efficiencyPlot(title: string, xs: readonly number[], series: readonly Series[]): string {
  if (xs.length === 0 || xs.some((x) => !(x > 0))) throw new RangeError('efficiencyPlot needs positive x values');
  const lx = xs.map(Math.log2);
  const x0 = Math.min(...lx);
  const x1 = Math.max(...lx) === x0 ? x0 + 1 : Math.max(...lx);
  const px = (x: number): number => M.left + ((Math.log2(x) - x0) / (x1 - x0)) * (W - M.left - M.right);
  const py = (y: number): number => H - M.bottom - Math.max(0, Math.min(1.05, y)) * ((H - M.top - M.bottom) / 1.05);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(`<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${esc(title)}</text>`);
  for (const y of [0, 0.25, 0.5, 0.75, 1]) {
    out.push(`<line x1="${M.left}" x2="${W - M.right}" y1="${py(y).toFixed(1)}" y2="${py(y).toFixed(1)}" stroke="#ddd"/>`);
    out.push(`<text x="${M.left - 8}" y="${(py(y) + 4).toFixed(1)}" text-anchor="end">${y.toFixed(2)}</text>`);
  }
  for (const x of xs) {
    out.push(`<line x1="${px(x).toFixed(1)}" x2="${px(x).toFixed(1)}" y1="${M.top}" y2="${H - M.bottom}" stroke="#eee"/>`);
    out.push(`<text x="${px(x).toFixed(1)}" y="${H - M.bottom + 18}" text-anchor="middle">${x}</text>`);
  }
  out.push(`<text x="${W / 2}" y="${H - 12}" text-anchor="middle">GPUs (workers)</text>`);
  out.push(`<text x="16" y="${H / 2}" text-anchor="middle" transform="rotate(-90 16 ${H / 2})">efficiency = T(1) / (G x T(G))</text>`);
  for (const [i, s] of series.entries()) {
    const pts = s.points.map(([x, y]) => `${px(x).toFixed(1)},${py(y).toFixed(1)}`);
    if (s.markersOnly !== true && pts.length > 1) out.push(`<polyline fill="none" stroke="${s.colour}" stroke-width="2" points="${pts.join(' ')}"/>`);
    for (const p of pts) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="${s.markersOnly === true ? 5 : 3}" fill="${s.colour}"/>`);
    }
    out.push(`<rect x="${W - M.right - 250}" y="${M.top + 6 + i * 18}" width="12" height="4" fill="${s.colour}"/><text x="${W - M.right - 232}" y="${M.top + 12 + i * 18}">${esc(s.name)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
