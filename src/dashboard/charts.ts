import { PRIORITIES, type DashboardData } from './data.ts';
import { emptyPlot, esc, frame, legend, linear, niceTicks, px, svgOpen, xLabels, xRange, yAxis, yRange, type Frame } from './svg.ts';
import { bytes, compact, count, duration, durationUnit, sig3, usd } from './units.ts';

/**
 * The report's six charts as `<figure>` HTML with inline SVG. Each figure carries
 * `data-chart` and `data-points` (how many data points it draws), its marks have class `mark`,
 * and its headline numbers are `<span data-figure=… data-value=…>` so a test (or a person with
 * the inspector) can check them against the queries.
 */

/** Colours of the pipeline stages, used wherever a stage appears. */
export const STAGE_COLORS: Readonly<Record<string, string>> = {
  ingestion: '#4e79a7',
  validated: '#f28e2b',
  enriched: '#59a14f',
  aggregated: '#b07aa1',
};
const stageColor = (s: string) => STAGE_COLORS[s] ?? '#76b7b2';
/** Colours of alert priorities. */
export const PRIORITY_COLORS: Readonly<Record<string, string>> = { high: '#d62728', medium: '#ff7f0e', low: '#e6b800', none: '#a0a0a0' };
const PCT_COLORS = { p50: '#4e79a7', p95: '#f28e2b', p99: '#e15759' } as const;
const RAW_COLOR = '#c9ced6';

/** One headline number of a chart. */
interface Figure {
  readonly key: string;
  readonly label: string;
  /** Exact value (goes to data-value); null shows as "–". */
  readonly value: number | null;
  /** What a person reads; default the value. */
  readonly text?: string;
  readonly unit?: string;
}

function figureHtml(chart: string, title: string, subtitle: string, points: number, body: string, figures: readonly Figure[], note = ''): string {
  const figs = figures
    .map((f) => {
      const text = f.value === null ? '–' : (f.text ?? String(f.value));
      const value = f.value === null ? '' : String(f.value);
      return `<div class="fig"><dt>${esc(f.label)}</dt><dd><span data-figure="${esc(f.key)}" data-value="${esc(value)}">${esc(text)}</span>${f.unit ? ` <small>${esc(f.unit)}</small>` : ''}</dd></div>`;
    })
    .join('');
  return (
    `<figure class="chart" data-chart="${esc(chart)}" data-points="${points}">` +
    `<figcaption><h2>${esc(title)}</h2><p class="sub">${esc(subtitle)}</p></figcaption>` +
    `<dl class="figures">${figs}</dl>${body}${note ? `<p class="note">${note}</p>` : ''}</figure>`
  );
}

const shortTime = (ts: string) => ts.slice(11, 19) || ts;
const dayTime = (ts: string) => (ts.length >= 16 ? `${ts.slice(5, 10)} ${ts.slice(11, 16)}` : ts);

/** Raw bytes read vs bytes written per stage, with the reduction above each pair. */
export function volumeChart(d: DashboardData): string {
  const f = frame({ top: 26 });
  const figures: Figure[] = [
    { key: 'reduction_pct', label: 'Overall reduction', value: d.totals.reductionPct, unit: '%' },
    { key: 'raw_bytes', label: 'Raw rows read', value: d.totals.rawBytes, text: bytes(d.totals.rawBytes) },
    { key: 'bytes_written', label: 'Written to the lake', value: d.totals.bytesWritten, text: bytes(d.totals.bytesWritten) },
    { key: 'records_in', label: 'Records processed', value: d.totals.recordsIn, text: count(d.totals.recordsIn) },
  ];
  const title = 'Data volume by stage';
  const sub = 'Bytes of source rows read vs gzip JSON Lines written, per pipeline stage; label = reduction %';
  if (d.stages.length === 0) return figureHtml('volume', title, sub, 0, emptyPlot(f, 'No pipeline_metrics yet: run edgelake run --once'), figures);
  const max = Math.max(...d.stages.map((s) => Math.max(s.rawBytes, s.bytesWritten)));
  const { unit, div } = bytesUnit(max);
  const ticks = niceTicks(0, max / div);
  const y = linear(0, ticks[ticks.length - 1], ...yRange(f));
  const [x0, x1] = xRange(f);
  const band = (x1 - x0) / d.stages.length;
  const bw = Math.min(56, band * 0.34);
  const marks: string[] = [];
  const labels = d.stages.map((s, i) => {
    const cx = x0 + band * (i + 0.5);
    const bar = (x: number, v: number, color: string, what: string) =>
      `<rect class="mark" x="${px(x)}" y="${px(y(v / div))}" width="${px(bw)}" height="${px(y(0) - y(v / div))}" fill="${color}"><title>${esc(`${s.stage}: ${what} ${bytes(v)}`)}</title></rect>`;
    marks.push(bar(cx - bw - 2, s.rawBytes, RAW_COLOR, 'raw rows'), bar(cx + 2, s.bytesWritten, stageColor(s.stage), 'written'));
    const top = y(Math.max(s.rawBytes, s.bytesWritten) / div);
    if (s.reductionPct !== null) marks.push(`<text class="value" x="${px(cx)}" y="${px(top - 6)}" text-anchor="middle">−${s.reductionPct}%</text>`);
    return { x: cx, label: s.stage };
  });
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, sig3, unit) + marks.join('') + xLabels(f, labels, 'pipeline stage') + '</svg>';
  const leg = legend([{ label: 'raw rows read', color: RAW_COLOR }, ...d.stages.map((s) => ({ label: `${s.stage} written`, color: stageColor(s.stage) }))]);
  return figureHtml('volume', title, sub, d.stages.length, svg + leg, figures);
}

/** Per-batch p50/p95/p99 of row latency (event time → object durable). */
export function latencyChart(d: DashboardData): string {
  const f = frame({ top: 20 });
  const s = d.latency.summary;
  const figures: Figure[] = [
    { key: 'latency_p50_ms', label: 'p50 (median batch)', value: s.p50, text: s.p50 === null ? undefined : duration(s.p50) },
    { key: 'latency_p95_ms', label: 'p95 (median batch)', value: s.p95, text: s.p95 === null ? undefined : duration(s.p95) },
    { key: 'latency_p99_ms', label: 'p99 (worst batch)', value: s.p99, text: s.p99 === null ? undefined : duration(s.p99) },
    { key: 'latency_batches', label: 'Batches', value: s.batches, text: count(s.batches) },
  ];
  const title = 'Edge latency, event to lake';
  const sub = 'Per stage batch: percentiles of each row’s time from its sensor timestamp to its object being durable';
  const pts = d.latency.batches;
  if (pts.length === 0) return figureHtml('latency', title, sub, 0, emptyPlot(f, 'No latency_metrics yet'), figures);
  const max = Math.max(...pts.map((p) => p.p99));
  const { unit, div } = durationUnit(max);
  const ticks = niceTicks(0, max / div);
  const y = linear(0, ticks[ticks.length - 1], ...yRange(f));
  const [x0, x1] = xRange(f);
  const x = pts.length === 1 ? () => (x0 + x1) / 2 : linear(0, pts.length - 1, x0 + 12, x1 - 12);
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
  for (const k of ['p99', 'p95', 'p50'] as const) {
    const color = PCT_COLORS[k];
    if (pts.length > 1) marks.push(`<polyline class="mark line" fill="none" stroke="${color}" stroke-width="2.5" points="${pts.map((p, i) => `${px(x(i))},${px(y(p[k] / div))}`).join(' ')}"/>`);
    for (const [i, p] of pts.entries()) {
      marks.push(`<circle class="mark" cx="${px(x(i))}" cy="${px(y(p[k] / div))}" r="3.5" fill="${color}"><title>${esc(`${p.t} ${p.stage} ${k}: ${duration(p[k])}`)}</title></circle>`);
    }
  }
  const labels = pts.map((p, i) => ({ x: x(i), label: `#${i + 1}` }));
  const span = pts.length > 1 ? ` · ${shortTime(pts[0].t)}–${shortTime(pts[pts.length - 1].t)} UTC` : ` · ${shortTime(pts[0].t)} UTC`;
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, sig3, `latency (${unit})`) + marks.join('') + xLabels(f, labels, `batch, in upload order${span}`, 10) + '</svg>';
  const leg = legend((['p50', 'p95', 'p99'] as const).map((k) => ({ label: k, color: PCT_COLORS[k], shape: 'line' as const })));
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

/** Latest fuzzed position per sensor on an equirectangular lon/lat grid. */
export function mapChart(d: DashboardData): string {
  const f = frame({ height: 320, left: 44, bottom: 36 });
  const figures: Figure[] = [
    { key: 'sensors', label: 'Sensors', value: d.sensors.length, text: count(d.sensors.length) },
    { key: 'fuzzed_pct', label: 'Readings with fuzzed GPS', value: d.privacy.fuzzedPct, unit: '%' },
  ];
  const title = 'Sensor positions (fuzzed)';
  const sub = 'Latest privacy-fuzzed position of each sensor, equirectangular longitude/latitude; dot size = readings';
  if (d.sensors.length === 0) return figureHtml('map', title, sub, 0, emptyPlot(f, 'No enriched readings yet'), figures);
  const lons = d.sensors.map((s) => s.lon);
  const lats = d.sensors.map((s) => s.lat);
  const [x0, x1] = xRange(f);
  const [yb, yt] = yRange(f);
  // Equal degrees per pixel on both axes (plain equirectangular), fitted around the sensors.
  let lonLo = Math.min(...lons), lonHi = Math.max(...lons), latLo = Math.min(...lats), latHi = Math.max(...lats);
  const padDeg = Math.max(1, (lonHi - lonLo) * 0.08, (latHi - latLo) * 0.08);
  [lonLo, lonHi, latLo, latHi] = [lonLo - padDeg, lonHi + padDeg, latLo - padDeg, latHi + padDeg];
  const scale = Math.min((x1 - x0) / (lonHi - lonLo), (yb - yt) / (latHi - latLo));
  const cx = (lonLo + lonHi) / 2, cy = (latLo + latHi) / 2;
  const X = (lon: number) => (x0 + x1) / 2 + (lon - cx) * scale;
  const Y = (lat: number) => (yb + yt) / 2 - (lat - cy) * scale;
  const lonMin = cx - (x1 - x0) / 2 / scale, lonMax = cx + (x1 - x0) / 2 / scale;
  const latMin = cy - (yb - yt) / 2 / scale, latMax = cy + (yb - yt) / 2 / scale;
  const grid: string[] = [`<rect class="sea" x="${x0}" y="${yt}" width="${px(x1 - x0)}" height="${px(yb - yt)}"/>`];
  const hemi = (v: number, pos: string, neg: string) => `${Math.abs(Math.round(v * 100) / 100)}°${v >= 0 ? pos : neg}`;
  for (const lon of niceTicks(lonMin, lonMax, 8).filter((v) => v >= lonMin && v <= lonMax)) {
    grid.push(`<line class="graticule" x1="${px(X(lon))}" x2="${px(X(lon))}" y1="${yt}" y2="${yb}"/><text class="tick" x="${px(X(lon))}" y="${px(yb + 14)}" text-anchor="middle">${hemi(lon, 'E', 'W')}</text>`);
  }
  for (const lat of niceTicks(latMin, latMax, 5).filter((v) => v >= latMin && v <= latMax)) {
    grid.push(`<line class="graticule" x1="${x0}" x2="${x1}" y1="${px(Y(lat))}" y2="${px(Y(lat))}"/><text class="tick" x="${px(x0 - 4)}" y="${px(Y(lat) + 4)}" text-anchor="end">${hemi(lat, 'N', 'S')}</text>`);
  }
  const maxReadings = Math.max(...d.sensors.map((s) => s.readings), 1);
  const dots = d.sensors.map((s) => {
    const r = 3 + 5 * Math.sqrt(s.readings / maxReadings);
    const color = s.anomalies > 0 ? PRIORITY_COLORS.medium : STAGE_COLORS.enriched;
    return `<circle class="mark" cx="${px(X(s.lon))}" cy="${px(Y(s.lat))}" r="${px(r)}" fill="${color}" fill-opacity="0.8" stroke="#fff" stroke-width="1"><title>${esc(`${s.id} (${s.location}) ${s.lat.toFixed(4)}, ${s.lon.toFixed(4)}: ${s.readings} readings, ${s.anomalies} anomalies`)}</title></circle>`;
  });
  const seen = new Set<string>();
  const names = d.sensors
    .filter((s) => s.location && !seen.has(s.location) && seen.add(s.location))
    .map((s) => {
      const nearRight = X(s.lon) > x1 - 90;
      return `<text class="place" x="${px(X(s.lon) + (nearRight ? -9 : 9))}" y="${px(Y(s.lat) - 7)}" text-anchor="${nearRight ? 'end' : 'start'}">${esc(s.location)}</text>`;
    });
  const svg = svgOpen(f, title) + grid.join('') + dots.join('') + names.join('') + '</svg>';
  const leg = legend([
    { label: 'sensor', color: STAGE_COLORS.enriched, shape: 'dot' },
    { label: 'sensor with anomalies', color: PRIORITY_COLORS.medium, shape: 'dot' },
  ]);
  return figureHtml('map', title, sub, d.sensors.length, svg + leg, figures);
}

/** Records per Bacalhau node and job (horizontal bars). */
export function nodesChart(d: DashboardData): string {
  const shown = d.nodes.slice(0, 10).map((n) => ({ ...n, job: n.job || '(no job id)' }));
  const f: Frame = frame({ left: 190, right: 64, height: Math.max(160, 48 + shown.length * 30) });
  const nodes = new Set(d.nodes.map((n) => n.node));
  const jobs = new Set(shown.map((n) => n.job));
  const total = d.nodes.reduce((a, n) => a + n.records, 0);
  const figures: Figure[] = [
    { key: 'nodes', label: 'Nodes', value: nodes.size },
    { key: 'jobs', label: 'Bacalhau jobs', value: new Set(d.nodes.map((n) => n.job)).size },
    { key: 'node_records', label: 'Enriched records', value: total, text: count(total) },
  ];
  const title = 'Work by node and job';
  const sub = 'Enriched records processed per Bacalhau node and job (from _bacalhau_metadata)';
  if (shown.length === 0) return figureHtml('nodes', title, sub, 0, emptyPlot(frame({ height: 160 }), 'No enriched readings yet'), figures);
  const ticks = niceTicks(0, Math.max(...shown.map((n) => n.records)));
  const [x0, x1] = xRange(f);
  const x = linear(0, ticks[ticks.length - 1], x0, x1);
  const rowH = (f.height - f.top - f.bottom) / shown.length;
  const palette = ['#4e79a7', '#59a14f', '#f28e2b', '#b07aa1', '#76b7b2', '#edc948', '#9c755f', '#ff9da7'];
  const jobColor = new Map([...jobs].map((j, i) => [j, palette[i % palette.length]]));
  const parts: string[] = [];
  for (const t of ticks) {
    parts.push(`<line class="grid" x1="${px(x(t))}" x2="${px(x(t))}" y1="${f.top}" y2="${f.height - f.bottom}"/><text class="tick" x="${px(x(t))}" y="${px(f.height - f.bottom + 16)}" text-anchor="middle">${compact(t)}</text>`);
  }
  for (const [i, n] of shown.entries()) {
    const yTop = f.top + rowH * i + rowH * 0.18;
    parts.push(
      `<text class="tick" x="${px(x0 - 8)}" y="${px(yTop + rowH * 0.32 + 4)}" text-anchor="end">${esc(trim(n.node, 14))} · ${esc(trim(n.job, 12))}</text>` +
        `<rect class="mark" x="${px(x0)}" y="${px(yTop)}" width="${px(Math.max(1, x(n.records) - x0))}" height="${px(rowH * 0.64)}" fill="${jobColor.get(n.job)}"><title>${esc(`${n.node} · job ${n.job} (${n.jobType}): ${count(n.records)} records`)}</title></rect>` +
        `<text class="value" x="${px(x(n.records) + 5)}" y="${px(yTop + rowH * 0.32 + 4)}">${count(n.records)}</text>`,
    );
  }
  parts.push(`<text class="axis-title" x="${px((x0 + x1) / 2)}" y="${px(f.height - 6)}" text-anchor="middle">records</text>`);
  const more = d.nodes.length > shown.length ? `${d.nodes.length - shown.length} more node/job pairs not shown.` : '';
  const leg = legend([...jobs].slice(0, 8).map((j) => ({ label: `job ${j}`, color: jobColor.get(j)! })));
  return figureHtml('nodes', title, sub, shown.length, svgOpen(f, title) + parts.join('') + '</svg>' + leg, figures, esc(more));
}

/** Transfer cost of the raw rows vs what was sent, per stage, at the configured $/GB. */
export function costChart(d: DashboardData): string {
  const f = frame({ top: 26 });
  const c = d.cost;
  const figures: Figure[] = [
    { key: 'saved_usd', label: 'Saved on this data', value: round6(c.savedUsd), text: usd(c.savedUsd) },
    { key: 'saved_per_tb_usd', label: 'Saved per TB of raw rows', value: round2(c.savedPerTbUsd), text: usd(c.savedPerTbUsd) },
    { key: 'actual_transfer_usd', label: 'Transfer cost paid', value: round6(c.actualUsd), text: usd(c.actualUsd) },
    { key: 'cost_per_gb', label: 'Assumed price', value: d.costPerGb, text: `$${d.costPerGb}`, unit: '/GB' },
  ];
  const title = 'Estimated transfer cost savings';
  const sub = `What shipping 1 TB of raw sensor rows costs unprocessed vs after each stage, at $${d.costPerGb}/GB (10⁹ bytes)`;
  const note =
    `Assumption: every byte leaving the edge is billed at $${esc(d.costPerGb)}/GB (default: AWS internet egress, first tier, $0.09/GB); ` +
    `change it with <code>--cost-per-gb</code>. Per-TB figures scale each stage's measured bytes written / raw bytes read. Storage, request and compute costs are not included.`;
  if (c.perStage.length === 0) return figureHtml('cost', title, sub, 0, emptyPlot(f, 'No pipeline_metrics yet'), figures, note);
  const ticks = niceTicks(0, c.rawPerTbUsd);
  const y = linear(0, ticks[ticks.length - 1], ...yRange(f));
  const [x0, x1] = xRange(f);
  const band = (x1 - x0) / c.perStage.length;
  const bw = Math.min(56, band * 0.34);
  const marks: string[] = [];
  const labels = c.perStage.map((s, i) => {
    const cx = x0 + band * (i + 0.5);
    const bar = (x: number, v: number, color: string, what: string) =>
      `<rect class="mark" x="${px(x)}" y="${px(y(v))}" width="${px(bw)}" height="${px(Math.max(0.5, y(0) - y(v)))}" fill="${color}"><title>${esc(`${s.stage}: ${what} ${usd(v)} per TB of raw rows`)}</title></rect>`;
    marks.push(bar(cx - bw - 2, c.rawPerTbUsd, RAW_COLOR, 'unprocessed'), bar(cx + 2, s.actualPerTbUsd, stageColor(s.stage), 'after the stage'));
    marks.push(`<text class="value" x="${px(cx)}" y="${px(y(c.rawPerTbUsd) - 6)}" text-anchor="middle">saves ${usd(c.rawPerTbUsd - s.actualPerTbUsd)}</text>`);
    return { x: cx, label: s.stage };
  });
  const svg = svgOpen(f, title) + yAxis(f, ticks, y, (v) => `$${sig3(v)}`, 'USD per TB of raw rows') + marks.join('') + xLabels(f, labels, 'pipeline stage') + '</svg>';
  const leg = legend([{ label: 'unprocessed raw rows', color: RAW_COLOR }, ...c.perStage.map((s) => ({ label: `after ${s.stage}`, color: stageColor(s.stage) }))]);
  return figureHtml('cost', title, sub, c.perStage.length, svg + leg, figures, note);
}

function bytesUnit(max: number): { unit: string; div: number } {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (max / 1024 ** i >= 1024 && i < units.length - 1) i++;
  return { unit: units[i], div: 1024 ** i };
}

const trim = (s: string, n: number) => (s.length > n ? s.slice(0, n - 1) + '…' : s);
const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
const round2 = (v: number) => Math.round(v * 100) / 100;
