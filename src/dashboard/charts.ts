import { PRIORITIES, type DashboardData } from './data.ts';
import { PRIORITY_COLORS, TARGET_COLOR, figureHtml, stageColor, type Figure } from './figure.ts';
import { emptyPlot, esc, frame, legend, linear, niceTicks, px, svgOpen, xLabels, xRange, yAxis, yRange } from './svg.ts';
import { compact, count, duration, durationUnit, sig3 } from './units.ts';

/**
 * Two of the report's charts as `<figure>` HTML with inline SVG: the edge's per-batch latency
 * and the alerts by priority over time (the others have files of their own). Marks have class
 * `mark`; headline numbers are `<span data-figure=… data-value=…>` (see figure.ts).
 */

const PCT_COLORS = { p50: '#4e79a7', p95: '#f28e2b' } as const;

const shortTime = (ts: string) => ts.slice(11, 19) || ts;
const dayTime = (ts: string) => (ts.length >= 16 ? `${ts.slice(5, 10)} ${ts.slice(11, 16)}` : ts);

/** Per-batch p50/p95 of row latency (event time → object durable) at the edge, with the 1 s target line. */
export function latencyChart(d: DashboardData): string {
  const f = frame({ top: 20 });
  const pts = d.latency.batches;
  const sorted = (k: 'p50' | 'p95') => pts.map((p) => p[k]).sort((a, b) => a - b);
  const median = (xs: number[]) => (xs.length === 0 ? null : xs.length % 2 ? xs[(xs.length - 1) / 2] : (xs[xs.length / 2 - 1] + xs[xs.length / 2]) / 2);
  const p50 = median(sorted('p50'));
  const p95 = median(sorted('p95'));
  const under = pts.filter((p) => p.p95 < 1000).length;
  const figures: Figure[] = [
    { key: 'latency_p50_ms', label: 'p50 (median batch)', value: p50, text: p50 === null ? undefined : duration(p50) },
    { key: 'latency_p95_ms', label: 'p95 (median batch)', value: p95, text: p95 === null ? undefined : duration(p95) },
    { key: 'latency_batches', label: 'Batches', value: pts.length, text: count(pts.length) },
    { key: 'latency_batches_under_target', label: 'Batches with p95 < 1 s', value: pts.length ? Math.round((1000 * under) / pts.length) / 10 : null, unit: '%' },
  ];
  const title = 'Edge latency, event to lake, per batch';
  const sub = 'Each batch at the edge: p50 and p95 of its rows’ time from the sensor timestamp to the object being durable';
  if (pts.length === 0) return figureHtml('latency', title, sub, 0, emptyPlot(f, 'No latency_metrics yet'), figures);
  // Scale to the bulk of the batches: a batch holding rows with broken clocks must not flatten the rest.
  const bulk = sorted('p95')[Math.floor(0.98 * (pts.length - 1))];
  const max = Math.max(1200, bulk * 1.1);
  const { unit, div } = durationUnit(max);
  const ticks = niceTicks(0, max / div);
  const top = ticks[ticks.length - 1];
  const y = linear(0, top, ...yRange(f));
  const yc = (ms: number) => y(Math.min(top, ms / div));
  const [x0, x1] = xRange(f);
  const x = pts.length === 1 ? () => (x0 + x1) / 2 : linear(0, pts.length - 1, x0 + 8, x1 - 8);
  const marks: string[] = [];
  // Light bands behind consecutive batches of one stage, so a switch of pipeline type is visible.
  const step = pts.length > 1 ? x(1) - x(0) : x1 - x0;
  for (let i = 0; i < pts.length; ) {
    let j = i;
    while (j + 1 < pts.length && pts[j + 1].stage === pts[i].stage) j++;
    const left = Math.max(x0, x(i) - step / 2);
    const right = Math.min(x1, x(j) + step / 2);
    marks.push(`<rect x="${px(left)}" y="${f.top}" width="${px(right - left)}" height="${px(f.height - f.bottom - f.top)}" fill="${stageColor(pts[i].stage)}" fill-opacity="0.08"/>`);
    marks.push(`<text class="band" x="${px((left + right) / 2)}" y="${px(f.top + 12)}" text-anchor="middle" fill="${stageColor(pts[i].stage)}">${esc(pts[i].stage)}</text>`);
    i = j + 1;
  }
  const r = pts.length > 200 ? 1.6 : 3;
  for (const k of ['p95', 'p50'] as const) {
    const color = PCT_COLORS[k];
    for (const [i, p] of pts.entries()) {
      const off = p[k] / div > top ? ' (off scale)' : '';
      marks.push(`<circle class="mark" cx="${px(x(i))}" cy="${px(yc(p[k]))}" r="${r}" fill="${color}"><title>${esc(`${p.t} ${p.stage} ${k}: ${duration(p[k])}${off}`)}</title></circle>`);
    }
  }
  marks.push(`<line class="target" x1="${px(x0)}" x2="${px(x1)}" y1="${px(yc(1000))}" y2="${px(yc(1000))}" stroke="${TARGET_COLOR}" stroke-width="1.5" stroke-dasharray="6 4"/><text class="target-label" x="${px(x1 - 4)}" y="${px(yc(1000) - 4)}" text-anchor="end" fill="${TARGET_COLOR}">1 s target</text>`);
  const labels = pts.map((p, i) => ({ x: x(i), label: `#${i + 1}` }));
  const span = pts.length > 1 ? ` · ${shortTime(pts[0].t)}–${shortTime(pts[pts.length - 1].t)} UTC` : ` · ${shortTime(pts[0].t)} UTC`;
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, sig3, `latency (${unit})`) + marks.join('') + xLabels(f, labels, `batch, in upload order${span}`, 10) + '</svg>';
  const leg = legend([...(['p50', 'p95'] as const).map((k) => ({ label: k, color: PCT_COLORS[k], shape: 'dot' as const })), { label: '1 s target', color: TARGET_COLOR, shape: 'line' as const }]);
  return figureHtml('latency', title, sub, pts.length, svg + leg, figures);
}

/** Alerts per minute of event time, stacked by priority. */
export function anomaliesChart(d: DashboardData): string {
  const f = frame();
  const a = d.alerts;
  const figures: Figure[] = [
    { key: 'alerts_total', label: 'Alerts', value: a.total, text: count(a.total) },
    ...PRIORITIES.filter((p) => p !== 'none').map((p) => ({ key: `alerts_${p}`, label: `${p[0].toUpperCase()}${p.slice(1)} priority`, value: a.totals[p] ?? 0, text: count(a.totals[p] ?? 0) })),
  ];
  const title = 'Anomalies by priority over time';
  const sub = 'Alerts raised at the edge per minute of sensor (event) time, stacked by priority';
  if (a.minutes.length === 0) return figureHtml('anomalies', title, sub, 0, emptyPlot(f, 'No alerts yet'), figures);
  const priorities = Object.keys(a.byPriority);
  const stack = a.minutes.map((_, i) => priorities.reduce((s, p) => s + a.byPriority[p][i], 0));
  const ticks = niceTicks(0, Math.max(...stack));
  const y = linear(0, ticks[ticks.length - 1], ...yRange(f));
  const [x0, x1] = xRange(f);
  const band = (x1 - x0) / a.minutes.length;
  const bw = Math.max(1, Math.min(28, band * 0.8));
  const marks: string[] = [];
  for (const [i, m] of a.minutes.entries()) {
    let base = 0;
    for (const p of priorities) {
      const v = a.byPriority[p][i];
      if (v <= 0) continue;
      marks.push(
        `<rect class="mark" x="${px(x0 + band * (i + 0.5) - bw / 2)}" y="${px(y(base + v))}" width="${px(bw)}" height="${px(y(base) - y(base + v))}" fill="${PRIORITY_COLORS[p] ?? '#777'}"><title>${esc(`${m} ${p}: ${v}`)}</title></rect>`,
      );
      base += v;
    }
  }
  const labels = a.minutes.map((m, i) => ({ x: x0 + band * (i + 0.5), label: dayTime(m) }));
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, compact, 'alerts per minute') + marks.join('') + xLabels(f, labels, 'event minute (UTC)', 6) + '</svg>';
  const leg = legend(priorities.map((p) => ({ label: p, color: PRIORITY_COLORS[p] ?? '#777' })));
  return figureHtml('anomalies', title, sub, a.minutes.length, svg + leg, figures);
}
