/**
 * Map labels that never overlap: each label tries the usual positions around its dot (right,
 * left, above-right, …), takes the first whose box stays inside the plot and clear of every dot
 * and every label already placed, and otherwise moves up or down in line steps with a leader line
 * back to its dot. Boxes come from an estimate of the text width that errs wide (no DOM: the
 * report is rendered as a string), so labels that do not overlap here do not overlap on screen.
 */

/** An axis-aligned box, px. */
export interface Box {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

/** A point to label. */
export interface LabelPoint {
  readonly x: number;
  readonly y: number;
  /** Radius of its dot, px. */
  readonly r: number;
  readonly text: string;
}

/** Where a label went. */
export interface PlacedLabel {
  /** Text anchor point (SVG `x`, baseline `y`) and alignment. */
  readonly x: number;
  readonly y: number;
  readonly anchor: 'start' | 'end';
  /** The box it occupies. */
  readonly box: Box;
  /** A line from the dot to the label when it had to move away from its dot. */
  readonly leader: { x1: number; y1: number; x2: number; y2: number } | null;
}

/** Font metrics of the labels: size in px, and the widest average character as a share of it. */
export interface LabelFont {
  readonly size: number;
  /** Average advance per character ÷ font size; 0.62 errs wide for system sans fonts. Default 0.62. */
  readonly widthFactor?: number;
}

/** True when two boxes overlap (touching edges do not). */
export function overlaps(a: Box, b: Box): boolean {
  return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/** Estimated width of `text` in px. */
export function textWidth(text: string, font: LabelFont): number {
  return [...text].length * font.size * (font.widthFactor ?? 0.62);
}

/** Places one label per point inside `bounds`, in the order given (put the most important first). */
export function placeLabels(points: readonly LabelPoint[], bounds: Box, font: LabelFont): PlacedLabel[] {
  const lineH = font.size * 1.3;
  const dots: Box[] = points.map((p) => ({ x: p.x - p.r, y: p.y - p.r, w: 2 * p.r, h: 2 * p.r }));
  const placed: PlacedLabel[] = [];
  const inside = (b: Box) => b.x >= bounds.x && b.y >= bounds.y && b.x + b.w <= bounds.x + bounds.w && b.y + b.h <= bounds.y + bounds.h;
  const free = (b: Box) => inside(b) && !dots.some((d) => overlaps(d, b)) && !placed.some((l) => overlaps(l.box, b));
  for (const p of points) {
    const w = textWidth(p.text, font) + 4;
    const gap = p.r + 3;
    // Baseline y for a label whose box is vertically centred on `cy`.
    const at = (side: 'start' | 'end', cx: number, cy: number): PlacedLabel => {
      const box: Box = { x: side === 'start' ? cx : cx - w, y: cy - lineH / 2, w, h: lineH };
      return { x: side === 'start' ? cx + 2 : cx - 2, y: cy + font.size * 0.35, anchor: side, box, leader: null };
    };
    const candidates: PlacedLabel[] = [
      at('start', p.x + gap, p.y),
      at('end', p.x - gap, p.y),
      at('start', p.x + gap * 0.7, p.y - gap - lineH / 2),
      at('end', p.x - gap * 0.7, p.y - gap - lineH / 2),
      at('start', p.x + gap * 0.7, p.y + gap + lineH / 2),
      at('end', p.x - gap * 0.7, p.y + gap + lineH / 2),
    ];
    let choice = candidates.find((c) => free(c.box));
    for (let step = 1; !choice && step <= 12; step++) {
      for (const dir of [-1, 1]) {
        for (const side of ['start', 'end'] as const) {
          const cx = side === 'start' ? p.x + gap + 10 : p.x - gap - 10;
          const c = at(side, cx, p.y + dir * step * lineH);
          if (free(c.box)) {
            choice = { ...c, leader: { x1: p.x, y1: p.y, x2: side === 'start' ? c.box.x : c.box.x + c.box.w, y2: c.box.y + c.box.h / 2 } };
            break;
          }
        }
        if (choice) break;
      }
    }
    // Nowhere free (a plot too small for its labels): keep the first position rather than drop the name.
    placed.push(choice ?? candidates[0]);
  }
  return placed;
}
