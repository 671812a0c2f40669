import type { BaselineParameter } from '../cloud/options.ts';
import { anomaliesChart, latencyChart } from './charts.ts';
import { latencyCompareChart, sameRowsChart } from './compare.ts';
import type { DashboardData } from './data.ts';
import { fleetChart } from './fleet-map.ts';
import { privacyPanel, successPanel } from './metrics-panel.ts';
import { rejectsChart } from './rejects.ts';
import { esc } from './svg.ts';

/**
 * The report page: one HTML file with inline CSS and SVG, no scripts, fonts or requests, so it
 * opens offline from a mail attachment or a bucket exactly as it was tested. Served live
 * (`edgelake dashboard --serve`), the same page reloads itself with a meta refresh.
 */

/** Options of {@link renderDashboardHtml}. */
export interface RenderOptions {
  /** Page title. Default `edgelake report`. */
  readonly title?: string;
  /** Where the data came from, shown in the header (a folder or an endpoint). */
  readonly source?: string;
  /** Reload the page every this many seconds (served live); absent: a static report. */
  readonly refreshSeconds?: number;
  /** The cloud-only baseline's parameters, when the lake has them. */
  readonly baseline?: readonly BaselineParameter[] | null;
  /** Region in the bucket names: where the cloud-only baseline's central process is drawn. Default us-west-2. */
  readonly region?: string;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;background:#f4f6f8}
header{background:#1f2a44;color:#fff;padding:20px 32px 16px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.2px}
header p{margin:0;color:#c5cde0;font-size:13px}
main{display:grid;grid-template-columns:1fr 1fr;gap:18px;padding:18px 32px 28px}
.wide{grid-column:1/-1}
.chart{margin:0;background:#fff;border-radius:12px;padding:16px 18px 12px;box-shadow:0 1px 3px rgba(16,24,40,.1)}
.chart h2,figcaption h2{margin:0;font-size:16px;font-weight:650}
figcaption .sub{margin:2px 0 8px;color:#5b6675;font-size:12.5px}
dl.figures{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0 0 6px}
.fig dt{font-size:11.5px;color:#5b6675;text-transform:uppercase;letter-spacing:.3px}
.fig dd{margin:0;font-size:18px;font-weight:650;color:#1f2a44}
.fig small{font-size:12px;font-weight:500;color:#5b6675}
.metric-grid{display:grid;grid-template-columns:repeat(5,1fr);gap:12px;margin:10px 0 12px}
.metric{border-radius:10px;padding:10px 12px;border:1px solid #e3e7ec;border-top:5px solid #9aa5b1;background:#fbfcfd}
.metric.pass{border-top-color:#2a9d8f}.metric.fail{border-top-color:#d62728}
.metric-head{display:flex;justify-content:space-between;gap:8px;align-items:flex-start}
.metric-name{font-size:12.5px;font-weight:600;color:#3e4c59}
.badge{font-size:11px;font-weight:700;padding:2px 7px;border-radius:9px;background:#e6e9ee;color:#3e4c59;white-space:nowrap}
.pass .badge{background:#d8f3ee;color:#13675d}.fail .badge{background:#fde2e2;color:#a11d1d}
.metric-value{font-size:24px;font-weight:700;color:#1f2a44;margin:6px 0 2px}
.metric-value small{font-size:12px;font-weight:500;color:#5b6675}
.metric-basis{font-size:12px;color:#3e4c59}
.metric-def{font-size:11.5px;color:#7b8794;margin-top:4px}
.baseline h3{font-size:13px;margin:4px 0 6px;color:#3e4c59}
.baseline dl{display:flex;flex-wrap:wrap;gap:4px 24px;margin:0}
.baseline dt{font-size:11px;color:#5b6675;text-transform:uppercase;letter-spacing:.3px}
.baseline dd{margin:0;font-size:13px;font-weight:600}
svg text{font-family:inherit}
.grid{stroke:#e6e9ee;stroke-width:1}
.axis{stroke:#9aa5b1;stroke-width:1}
.tick{font-size:11px;fill:#5b6675}
.axis-title{font-size:11.5px;fill:#3e4c59;font-weight:600}
.band{font-size:11px;font-weight:600}
.value{font-size:11.5px;fill:#1f2a44;font-weight:600}
.target-label{font-size:11px;font-weight:700}
.place{font-size:11px;fill:#1f2a44;paint-order:stroke;stroke:#fff;stroke-width:3px}
.leader{stroke:#7b8794;stroke-width:1}
.sea{fill:#eef4fa;stroke:#c9d6e3}
.graticule{stroke:#c9d6e3;stroke-width:.8;stroke-dasharray:3 3}
.empty{fill:#fafbfc;stroke:#e6e9ee;stroke-dasharray:4 4}
.empty-text{font-size:13px;fill:#7b8794}
ul.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:4px 0 0;padding:0;font-size:12px;color:#3e4c59}
ul.legend li{display:flex;align-items:center;gap:6px}
ul.shares{list-style:none;margin:8px 0 0;padding:0;font-size:12.5px;color:#3e4c59}
.swatch{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px}
table.data{width:100%;border-collapse:collapse;margin-top:10px;font-size:12.5px}
table.data th{text-align:left;font-weight:600;color:#5b6675;border-bottom:1px solid #e3e7ec;padding:4px 6px}
table.data td{border-bottom:1px solid #f0f2f5;padding:4px 6px}
table.data td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{margin:8px 0 0;font-size:12px;color:#5b6675}
code{font-size:12px;background:#eef1f5;padding:1px 4px;border-radius:4px}
footer{padding:0 32px 28px;color:#5b6675;font-size:12px}
@media (max-width:1100px){main{grid-template-columns:1fr}.metric-grid{grid-template-columns:repeat(2,1fr)}}
`;

/** The whole report as one self-contained HTML document. */
export function renderDashboardHtml(d: DashboardData, opts: RenderOptions = {}): string {
  const title = opts.title ?? 'edgelake report';
  const refresh = opts.refreshSeconds ? `<meta http-equiv="refresh" content="${Math.max(1, Math.round(opts.refreshSeconds))}">\n` : '';
  const live = opts.refreshSeconds ? ` · live: refreshes every ${Math.round(opts.refreshSeconds)} s` : '';
  const panels = [
    successPanel(d, opts.baseline ?? null).replace('class="chart metrics"', 'class="chart metrics wide"'),
    fleetChart(d, opts.region ?? 'us-west-2').replace('class="chart"', 'class="chart wide"'),
    latencyCompareChart(d),
    sameRowsChart(d),
    rejectsChart(d),
    privacyPanel(d),
    latencyChart(d),
    anomaliesChart(d),
  ];
  const queries = Object.keys(d.results).map((n) => `<code>${esc(n)}</code>`).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
${refresh}<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p>Edge-to-lakehouse pipeline · generated ${esc(d.generatedAt.replace('T', ' ').slice(0, 19))} UTC${opts.source ? ` · lake: ${esc(opts.source)}` : ''}${esc(live)}</p></header>
<main>
${panels.join('\n')}
</main>
<footer>Figures come from the demo and dashboard queries (${queries}) run locally with DuckDB over the lake's <code>sensor_data.*</code> views; the same SQL runs on Databricks (see <code>databricks/</code>). Hover a mark for its exact value.</footer>
</body>
</html>
`;
}
