/**
 * Minimal SVG building blocks for the report's charts: escaping, linear scales with "nice"
 * ticks, axes, and a plot frame. Strings in, strings out: no DOM, no dependencies, so the
 * report renders the same in any browser without scripts or network.
 */

/** Escapes text for HTML/SVG element content and attribute values. */
export function esc(s: string | number): string {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** A number rounded for SVG coordinates (two decimals keep files small). */
export const px = (v: number): string => String(Math.round(v * 100) / 100);

/** A linear map from a data domain to a pixel range; a zero-width domain maps to the range's middle. */
export function linear(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0;
  if (!(span !== 0) || !Number.isFinite(span)) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / span) * (r1 - r0);
}

/** About `count` round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k), lo/hi widened to ticks. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi === lo) {
    hi = lo === 0 ? 1 : lo + Math.abs(lo) * 0.5;
    lo = lo === 0 ? 0 : lo - Math.abs(lo) * 0.5;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const start = Math.floor(lo / step) * step;
  const ticks: number[] = [];
  for (let v = start; v <= hi + step * 1e-9; v += step) ticks.push(Math.round(v / step) * step);
  if (ticks[ticks.length - 1] < hi) ticks.push(ticks[ticks.length - 1] + step);
  return ticks;
}

/** Inner plot area of a chart, px. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** The standard frame of the report's charts: 560 × 280 px with room for axis labels. */
export function frame(overrides: Partial<Frame> = {}): Frame {
  return { width: 560, height: 280, left: 64, right: 16, top: 14, bottom: 44, ...overrides };
}

/** The x range of the plot area. */
export const xRange = (f: Frame): [number, number] => [f.left, f.width - f.right];
/** The y range of the plot area (bottom to top). */
export const yRange = (f: Frame): [number, number] => [f.height - f.bottom, f.top];

/** Opens an `<svg>` of the frame's size, scaled to its container, with an accessible label. */
export function svgOpen(f: Frame, label: string): string {
  return `<svg viewBox="0 0 ${f.width} ${f.height}" width="100%" role="img" aria-label="${esc(label)}" xmlns="http://www.w3.org/2000/svg">`;
}

/** Horizontal grid lines and labels of a value axis on the left, plus its title. */
export function yAxis(f: Frame, ticks: readonly number[], y: (v: number) => number, fmt: (v: number) => string, title: string): string {
  const [x0, x1] = xRange(f);
  const parts = ticks.map(
    (t) =>
      `<line class="grid" x1="${px(x0)}" x2="${px(x1)}" y1="${px(y(t))}" y2="${px(y(t))}"/>` +
      `<text class="tick" x="${px(x0 - 6)}" y="${px(y(t) + 4)}" text-anchor="end">${esc(fmt(t))}</text>`,
  );
  const mid = (f.top + f.height - f.bottom) / 2;
  parts.push(`<text class="axis-title" transform="translate(14 ${px(mid)}) rotate(-90)" text-anchor="middle">${esc(title)}</text>`);
  return parts.join('');
}

/** Category or time labels under the plot area (at most `maxLabels`, evenly thinned), plus the axis title. */
export function xLabels(f: Frame, items: readonly { x: number; label: string }[], title: string, maxLabels = 8): string {
  const every = Math.max(1, Math.ceil(items.length / maxLabels));
  const base = f.height - f.bottom;
  const parts = items
    .filter((_, i) => i % every === 0)
    .map((it) => `<text class="tick" x="${px(it.x)}" y="${px(base + 16)}" text-anchor="middle">${esc(it.label)}</text>`);
  parts.push(`<line class="axis" x1="${px(f.left)}" x2="${px(f.width - f.right)}" y1="${px(base)}" y2="${px(base)}"/>`);
  parts.push(`<text class="axis-title" x="${px((f.left + f.width - f.right) / 2)}" y="${px(f.height - 6)}" text-anchor="middle">${esc(title)}</text>`);
  return parts.join('');
}

/** A message drawn in the middle of an empty chart. */
export function emptyPlot(f: Frame, message: string): string {
  return `${svgOpen(f, message)}<rect class="empty" x="${f.left}" y="${f.top}" width="${f.width - f.left - f.right}" height="${f.height - f.top - f.bottom}"/><text class="empty-text" x="${px(f.width / 2)}" y="${px(f.height / 2)}" text-anchor="middle">${esc(message)}</text></svg>`;
}

/** A legend: colour swatches with labels, as HTML. */
export function legend(items: readonly { label: string; color: string; shape?: 'box' | 'line' | 'dot' }[]): string {
  const sw = (c: string, s: string | undefined) =>
    s === 'line'
      ? `<svg width="18" height="10" aria-hidden="true"><line x1="0" x2="18" y1="5" y2="5" stroke="${c}" stroke-width="3"/></svg>`
      : s === 'dot'
        ? `<svg width="10" height="10" aria-hidden="true"><circle cx="5" cy="5" r="4" fill="${c}"/></svg>`
        : `<svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" rx="2" fill="${c}"/></svg>`;
  return `<ul class="legend">${items.map((i) => `<li>${sw(i.color, i.shape)}${esc(i.label)}</li>`).join('')}</ul>`;
}
