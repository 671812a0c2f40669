import type { DashboardData } from './data.ts';
import { figureHtml, stageColor, type Figure } from './figure.ts';
import { emptyPlot, esc, frame, legend, linear, niceTicks, px, svgOpen } from './svg.ts';
import { compact, count } from './units.ts';

/**
 * Rejected readings: violations by rule and field (horizontal bars, one per rule/field pair, the
 * most frequent first) beside the valid share of each validating stage. Rejected rows are kept
 * and flagged, never dropped, so these counts are rows in the lake, not rows lost.
 */
export function rejectsChart(d: DashboardData): string {
  const byPair = new Map<string, { rule: string; field: string; violations: number }>();
  for (const r of d.rejects.byRule) {
    const k = `${r.rule}|${r.field}`;
    const e = byPair.get(k) ?? { rule: r.rule, field: r.field, violations: 0 };
    e.violations += r.violations;
    byPair.set(k, e);
  }
  const pairs = [...byPair.values()].sort((a, b) => b.violations - a.violations || a.rule.localeCompare(b.rule));
  const shown = pairs.slice(0, 14);
  const readings = d.rejects.share.reduce((s, x) => s + x.readings, 0);
  const rejected = d.rejects.share.reduce((s, x) => s + x.rejected, 0);
  const validPct = readings > 0 ? Math.round((10_000 * (readings - rejected)) / readings) / 100 : null;
  const figures: Figure[] = [
    { key: 'validated_readings', label: 'Readings validated', value: readings, text: count(readings) },
    { key: 'rejected_readings', label: 'Rejected (kept, flagged)', value: rejected, text: count(rejected) },
    { key: 'valid_pct', label: 'Valid share', value: validPct, unit: '%' },
    { key: 'reject_rules', label: 'Rules broken', value: new Set(pairs.map((p) => p.rule)).size },
  ];
  const title = 'Rejected records by rule and field';
  const sub = 'Validation at the edge (stages 2 and 3): each failed check by the rule it broke and the field; valid share per stage below';
  const f = frame({ left: 250, right: 56, top: 8, bottom: 28, height: 40 + Math.max(1, shown.length) * 22 });
  const share = d.rejects.share
    .map((s) => `<li><span class="swatch" style="background:${stageColor(s.stage)}"></span>${esc(s.stage)}: ${count(s.valid)} valid of ${count(s.readings)} (${s.validPct ?? '–'}%), ${count(s.rejected)} rejected</li>`)
    .join('');
  const shareHtml = share ? `<ul class="shares">${share}</ul>` : '';
  if (shown.length === 0) return figureHtml('rejects', title, sub, 0, emptyPlot(frame({ height: 120 }), readings > 0 ? 'Every validated reading passed' : 'No validated readings yet') + shareHtml, figures);
  const ticks = niceTicks(0, Math.max(...shown.map((p) => p.violations)));
  const x0 = f.left;
  const x1 = f.width - f.right;
  const x = linear(0, ticks[ticks.length - 1], x0, x1);
  const rowH = (f.height - f.top - f.bottom) / shown.length;
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${px(x(t))}" x2="${px(x(t))}" y1="${f.top}" y2="${f.height - f.bottom}"/><text class="tick" x="${px(x(t))}" y="${px(f.height - f.bottom + 14)}" text-anchor="middle">${compact(t)}</text>`);
  }
  for (const [i, p] of shown.entries()) {
    const y = f.top + rowH * i + rowH * 0.15;
    parts.push(
      `<text class="tick" x="${px(x0 - 8)}" y="${px(y + rowH * 0.35 + 4)}" text-anchor="end">${esc(p.rule)} · ${esc(p.field)}</text>` +
        `<rect class="mark" x="${px(x0)}" y="${px(y)}" width="${px(Math.max(1, x(p.violations) - x0))}" height="${px(rowH * 0.7)}" fill="#e15759"><title>${esc(`${p.rule} on ${p.field}: ${p.violations} readings`)}</title></rect>` +
        `<text class="value" x="${px(x(p.violations) + 5)}" y="${px(y + rowH * 0.35 + 4)}">${count(p.violations)}</text>`,
    );
  }
  const more = pairs.length > shown.length ? esc(`${pairs.length - shown.length} more rule/field pairs not shown.`) : '';
  const leg = legend([{ label: 'failed checks (a reading may fail several)', color: '#e15759' }]);
  return figureHtml('rejects', title, sub, shown.length, svgOpen(f, title) + parts.join('') + '</svg>' + leg + shareHtml, figures, more);
}
