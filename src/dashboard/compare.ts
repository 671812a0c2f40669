import type { DashboardData, LatencyPath } from './data.ts';
import { LOCATION_COLORS, RAW_COLOR, TARGET_COLOR, figureHtml, stageColor, type Figure } from './figure.ts';
import { emptyPlot, esc, frame, legend, linear, niceTicks, px, svgOpen, xLabels, xRange, yAxis, yRange } from './svg.ts';
import { bytes, count, duration, sig3, usd } from './units.ts';

/**
 * The edge against the measured cloud-only baseline: latency (event → alert, event → lake) on a
 * log scale with the 1 s target line, and the bytes of every stage against the bytes of the same
 * rows shipped raw, with what that costs at the stated price.
 */

const PATH_LABEL: Readonly<Record<string, string>> = {
  'edge alert': 'edge: event → alert',
  'cloud alert': 'cloud-only: event → alert',
  'edge lake': 'edge: event → lake',
  'cloud lake': 'cloud-only: event → raw lands',
};
/** Order of the rows: the comparison that matters first. */
const ROW_ORDER = ['edge alert', 'cloud alert', 'edge lake', 'cloud lake'];

/** Horizontal bars of p50 (solid) to p95 (light), p99 ticks, per location and path, log scale, 1 s target line. */
export function latencyCompareChart(d: DashboardData): string {
  const rows = ROW_ORDER.map((k) => d.latency.paths.find((p) => `${p.location} ${p.path}` === k)).filter((p): p is LatencyPath => Boolean(p && p.p50 !== null));
  const get = (loc: string, path: string) => d.latency.paths.find((p) => p.location === loc && p.path === path);
  const ea = get('edge', 'alert');
  const ca = get('cloud', 'alert');
  const ratio = ea?.p50 && ca?.p50 ? Math.round((10 * ca.p50) / ea.p50) / 10 : null;
  const figures: Figure[] = [
    { key: 'edge_alert_p50_ms', label: 'Edge alert p50', value: ea?.p50 ?? null, text: ea?.p50 == null ? undefined : duration(ea.p50) },
    { key: 'edge_alert_p99_ms', label: 'Edge alert p99', value: ea?.p99 ?? null, text: ea?.p99 == null ? undefined : duration(ea.p99) },
    { key: 'cloud_alert_p50_ms', label: 'Cloud-only alert p50', value: ca?.p50 ?? null, text: ca?.p50 == null ? undefined : duration(ca.p50) },
    { key: 'alert_latency_ratio', label: 'Edge faster by', value: ratio, text: ratio === null ? undefined : `${ratio}×` },
  ];
  const title = 'Alert latency: edge vs cloud-only, with the 1 s target';
  const sub = 'Bars from p50 (solid) to p95 (light), tick at p99; alerts per row, lake paths per batch (median); log scale';
  const f = frame({ left: 206, right: 56, top: 16, bottom: 40, height: 56 + Math.max(1, rows.length) * 44 });
  if (rows.length === 0) return figureHtml('latency-compare', title, sub, 0, emptyPlot(f, 'No latency records yet'), figures);
  const lo = 1;
  const hi = 10 ** Math.ceil(Math.log10(Math.max(1000, ...rows.map((r) => r.p99 ?? r.p95 ?? r.p50 ?? 1)) * 1.2));
  const [x0, x1] = xRange(f);
  const lx = linear(Math.log10(lo), Math.log10(hi), x0, x1);
  const x = (ms: number) => lx(Math.log10(Math.max(lo, ms)));
  const parts: string[] = [];
  for (let t = lo; t <= hi; t *= 10) {
    parts.push(`<line class="grid" x1="${px(x(t))}" x2="${px(x(t))}" y1="${f.top}" y2="${f.height - f.bottom}"/><text class="tick" x="${px(x(t))}" y="${px(f.height - f.bottom + 15)}" text-anchor="middle">${t < 1000 ? `${t} ms` : `${t / 1000} s`}</text>`);
  }
  const rowH = (f.height - f.top - f.bottom) / rows.length;
  for (const [i, r] of rows.entries()) {
    const key = `${r.location} ${r.path}`;
    const y = f.top + rowH * i + rowH * 0.2;
    const h = rowH * 0.6;
    const color = LOCATION_COLORS[r.location] ?? '#777';
    const p50 = r.p50!;
    const p95 = r.p95 ?? p50;
    parts.push(`<text class="tick" x="${px(x0 - 8)}" y="${px(y + h / 2 + 4)}" text-anchor="end">${esc(PATH_LABEL[key] ?? key)} (${count(r.n)})</text>`);
    parts.push(`<rect class="mark" x="${px(x0)}" y="${px(y)}" width="${px(Math.max(1, x(p50) - x0))}" height="${px(h)}" fill="${color}"><title>${esc(`${PATH_LABEL[key]}: p50 ${duration(p50)}`)}</title></rect>`);
    parts.push(`<rect x="${px(x(p50))}" y="${px(y)}" width="${px(Math.max(0, x(p95) - x(p50)))}" height="${px(h)}" fill="${color}" fill-opacity="0.35"><title>${esc(`p95 ${duration(p95)}`)}</title></rect>`);
    if (r.p99 !== null) parts.push(`<line x1="${px(x(r.p99))}" x2="${px(x(r.p99))}" y1="${px(y - 2)}" y2="${px(y + h + 2)}" stroke="#1f2a44" stroke-width="2"><title>${esc(`p99 ${duration(r.p99)}`)}</title></line>`);
    parts.push(`<text class="value" x="${px(Math.min(x1 - 4, x(r.p99 ?? p95) + 6))}" y="${px(y + h / 2 + 4)}">${esc(duration(p50))}</text>`);
  }
  parts.push(
    `<line class="target" x1="${px(x(1000))}" x2="${px(x(1000))}" y1="${f.top - 6}" y2="${f.height - f.bottom}" stroke="${TARGET_COLOR}" stroke-width="2" stroke-dasharray="6 4"/>` +
      `<text class="target-label" x="${px(x(1000) + 4)}" y="${f.top + 4}" fill="${TARGET_COLOR}">1 s target</text>`,
  );
  parts.push(`<text class="axis-title" x="${px((x0 + x1) / 2)}" y="${px(f.height - 6)}" text-anchor="middle">latency from the sensor's event time (log scale)</text>`);
  const leg = legend([
    { label: 'edge', color: LOCATION_COLORS.edge },
    { label: 'cloud-only baseline', color: LOCATION_COLORS.cloud },
    { label: '1 s target', color: TARGET_COLOR, shape: 'line' },
  ]);
  return figureHtml('latency-compare', title, sub, rows.length, svgOpen(f, title) + parts.join('') + '</svg>' + leg, figures);
}

/** Raw bytes of the same rows (what the cloud-only baseline shipped for them) vs bytes the stage wrote, with the reduction. */
export function sameRowsChart(d: DashboardData): string {
  const f = frame({ top: 26 });
  const agg = d.stages.find((s) => s.stage === 'aggregated');
  const perTb = (s: { bytesWritten: number; rawBytes: number | null }) => (s.rawBytes ? (1000 * d.costPerGb * s.bytesWritten) / s.rawBytes : null);
  const aggPerTb = agg ? perTb(agg) : null;
  const figures: Figure[] = [
    { key: 'aggregated_reduction_pct', label: 'Aggregated vs raw, same rows', value: agg?.reductionPct ?? null, unit: '%' },
    { key: 'raw_usd_per_tb', label: 'Raw rows cost', value: 1000 * d.costPerGb, text: usd(1000 * d.costPerGb), unit: 'per TB' },
    { key: 'aggregated_usd_per_tb', label: 'Aggregated instead', value: aggPerTb === null ? null : Math.round(aggPerTb * 100) / 100, text: aggPerTb === null ? undefined : usd(aggPerTb), unit: 'per TB of raw rows' },
    { key: 'usd_per_gb', label: 'Price', value: d.costPerGb, text: `$${d.costPerGb}`, unit: '/GB' },
  ];
  const title = 'Volume by stage, for the same rows';
  const sub = 'Bytes each stage wrote vs the bytes the very same rows took shipped raw (ingestion format) by the cloud-only baseline';
  const note =
    'Reduction = 1 − bytes the stage wrote ÷ bytes of the same rows in the ingestion format, as the cloud-only baseline shipped them (its raw objects, ' +
    'an object holding rows of two stages counted by its share of the id range). Cost: egress only, at the price shown ' +
    '(<code>--cost-per-gb</code>); requests and storage not included.';
  const withRaw = d.stages;
  if (withRaw.length === 0) return figureHtml('volume', title, sub, 0, emptyPlot(f, 'No pipeline_metrics yet'), figures, note);
  const baselineMissing = withRaw.some((s) => s.rawBytes === null)
    ? ' No cloud-only baseline measured the raw rows of every stage in this lake (edgelake demo runs one): stages without it show only what they wrote.'
    : '';
  const max = Math.max(...withRaw.map((s) => Math.max(s.rawBytes ?? 0, s.bytesWritten)));
  const unit = max >= 1024 * 1024 ? { name: 'MiB', div: 1024 * 1024 } : { name: 'KiB', div: 1024 };
  const ticks = niceTicks(0, max / unit.div);
  const y = linear(0, ticks[ticks.length - 1], ...yRange(f));
  const [x0, x1] = xRange(f);
  const band = (x1 - x0) / withRaw.length;
  const bw = Math.min(56, band * 0.34);
  const marks: string[] = [];
  const labels = withRaw.map((s, i) => {
    const cx = x0 + band * (i + 0.5);
    const bar = (bx: number, v: number, color: string, what: string) =>
      `<rect class="mark" x="${px(bx)}" y="${px(y(v / unit.div))}" width="${px(bw)}" height="${px(Math.max(0.5, y(0) - y(v / unit.div)))}" fill="${color}"><title>${esc(`${s.stage}: ${what} ${bytes(v)} (${count(s.rowsIn)} rows)`)}</title></rect>`;
    if (s.rawBytes !== null) marks.push(bar(cx - bw - 2, s.rawBytes, RAW_COLOR, 'the same rows shipped raw'));
    marks.push(bar(cx + 2, s.bytesWritten, stageColor(s.stage), 'written by the stage'));
    const top = y(Math.max(s.rawBytes ?? 0, s.bytesWritten) / unit.div);
    if (s.reductionPct !== null) {
      const t = s.reductionPct >= 0 ? `−${s.reductionPct}%` : `+${sig3(-s.reductionPct)}%`;
      marks.push(`<text class="value" x="${px(cx)}" y="${px(top - 6)}" text-anchor="middle">${t}</text>`);
    }
    return { x: cx, label: s.stage };
  });
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, sig3, unit.name) + marks.join('') + xLabels(f, labels, 'pipeline stage (label: bytes against the same rows raw)') + '</svg>';
  const leg = legend([{ label: 'same rows shipped raw (cloud-only)', color: RAW_COLOR }, ...withRaw.map((s) => ({ label: `${s.stage} written`, color: stageColor(s.stage) }))]);
  return figureHtml('volume', title, sub, withRaw.length, svg + leg, figures, note + esc(baselineMissing));
}
