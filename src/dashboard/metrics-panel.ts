import type { BaselineParameter } from '../cloud/options.ts';
import type { DashboardData, SuccessMetric } from './data.ts';
import { esc } from './svg.ts';
import { count, duration, usd } from './units.ts';

/**
 * The brief's five success metrics, each with what was measured, the target and pass/fail (from
 * the `metrics_success` query), and beside them every parameter of the cloud-only baseline the
 * comparisons were measured against, so nobody mistakes it for a constant.
 */

/** A measured value in its unit, as a person reads it. */
export function metricValue(m: Pick<SuccessMetric, 'measured' | 'unit'>): string {
  if (m.measured === null) return '–';
  if (m.unit === 'ms') return duration(m.measured);
  if (m.unit === '×') return `${m.measured}×`;
  if (m.unit === '%') return `${m.measured}%`;
  return `${m.measured} ${m.unit}`;
}

/** The target as a person reads it, e.g. `≥ 90%`, `< 1 s`. */
export function metricTarget(m: Pick<SuccessMetric, 'comparison' | 'target' | 'unit'>): string {
  const op = m.comparison === '>=' ? '≥' : m.comparison;
  return `${op} ${metricValue({ measured: m.target, unit: m.unit })}`;
}

/** The two figures behind a metric, e.g. `edge 14.1 KiB · baseline 503 KiB`. */
function figuresText(m: SuccessMetric): string {
  const f = (v: number | null) => {
    if (v === null) return '–';
    if (m.figureUnit === 'bytes') return `${count(v)} B`;
    if (m.figureUnit.startsWith('USD')) return usd(v);
    if (m.figureUnit.startsWith('ms')) return duration(v);
    return count(v);
  };
  if (m.ordinal === 5) return `p50 ${f(m.edgeFigure)} · p99 ${f(m.baselineFigure)}`;
  if (m.ordinal === 4) return `${f(m.edgeFigure)} of ${f(m.baselineFigure)} positions fuzzed`;
  if (m.ordinal === 3) return `edge ${f(m.edgeFigure)} vs raw ${f(m.baselineFigure)} per TB of raw rows`;
  if (m.ordinal === 2) return `edge ${f(m.edgeFigure)} vs cloud-only ${f(m.baselineFigure)}`;
  return `edge ${f(m.edgeFigure)} vs same rows raw ${f(m.baselineFigure)}`;
}

/** The metrics panel: one card per metric, then the baseline's parameters. */
export function successPanel(d: DashboardData, baseline: readonly BaselineParameter[] | null): string {
  const cards = d.success
    .map(
      (m) =>
        `<div class="metric ${m.status.replace(' ', '-')}" data-metric="${m.ordinal}" data-status="${esc(m.status)}">` +
        `<div class="metric-head"><span class="metric-name">${esc(`${m.ordinal}. ${m.metric}`)}</span><span class="badge">${esc(m.status === 'no data' ? 'no data' : m.status.toUpperCase())}</span></div>` +
        `<div class="metric-value"><span data-figure="metric_${m.ordinal}" data-value="${m.measured ?? ''}">${esc(metricValue(m))}</span> <small>target ${esc(metricTarget(m))}</small></div>` +
        `<div class="metric-basis">${esc(figuresText(m))}</div><div class="metric-def">${esc(m.basis)}</div></div>`,
    )
    .join('');
  const empty = d.success.length === 0 ? '<p class="note">No measurements yet: the metrics appear once the lake holds edge and cloud-only records.</p>' : '';
  const params = baseline
    ? `<div class="baseline"><h3>Cloud-only baseline, as measured</h3><dl>${baseline.map((p) => `<div><dt>${esc(p.label)}</dt><dd data-param="${esc(p.key)}">${esc(p.value)}</dd></div>`).join('')}</dl></div>`
    : '<div class="baseline"><h3>Cloud-only baseline</h3><p class="note">No baseline parameters in this lake (edgelake demo writes them beside its measurements).</p></div>';
  return `<section class="chart metrics" data-chart="success" data-points="${d.success.length}"><h2>Success metrics of the brief</h2><div class="metric-grid">${cards}</div>${empty}${params}</section>`;
}

/** Metric 4 by bucket: every position in every bucket, and how many of them are fuzzed. */
export function privacyPanel(d: DashboardData): string {
  const rows = d.gps
    .map((g) => `<tr><td>${esc(g.bucket)}</td><td class="num">${count(g.positions)}</td><td class="num">${count(g.fuzzed)}</td><td class="num">${g.fuzzedPct === null ? '–' : `${g.fuzzedPct}%`}</td></tr>`)
    .join('');
  const body = rows
    ? `<table class="data"><thead><tr><th>bucket</th><th>positions</th><th>fuzzed</th><th>fuzzed %</th></tr></thead><tbody>${rows}</tbody></table>`
    : '<p class="note">No records with coordinates yet.</p>';
  return (
    `<figure class="chart" data-chart="privacy" data-points="${d.gps.length}"><figcaption><h2>GPS privacy in every bucket</h2>` +
    `<p class="sub">Every latitude/longitude pair that left the nodes, by bucket: fuzzed at the source (stage 3 on) or true coordinates</p></figcaption>${body}` +
    `<p class="note">Stages 1 and 2 ship rows as stored, true coordinates included: the brief's 100 % holds only for data shipped once stage 3 is on. Aggregated windows carry no coordinates.</p></figure>`
  );
}
