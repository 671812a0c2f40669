import { anomaliesChart, costChart, latencyChart, mapChart, nodesChart, volumeChart } from './charts.ts';
import type { DashboardData } from './data.ts';
import { esc } from './svg.ts';
import { bytes, count, duration } from './units.ts';

/**
 * The report page: one HTML file with inline CSS and SVG, no scripts, fonts or requests, so it
 * opens offline from a mail attachment or a bucket exactly as it was tested.
 */

/** Options of {@link renderDashboardHtml}. */
export interface RenderOptions {
  /** Page title. Default `edgelake report`. */
  readonly title?: string;
  /** Where the data came from, shown in the header (a folder or an endpoint). */
  readonly source?: string;
}

const CSS = `
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:#1f2933;background:#f4f6f8}
header{background:#1f2a44;color:#fff;padding:22px 32px 18px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.2px}
header p{margin:0;color:#c5cde0;font-size:13px}
.kpis{display:grid;grid-template-columns:repeat(6,1fr);gap:12px;padding:18px 32px 0}
.kpi{background:#fff;border-radius:10px;padding:12px 14px;box-shadow:0 1px 2px rgba(16,24,40,.08)}
.kpi b{display:block;font-size:22px;font-weight:650;color:#1f2a44}
.kpi span{color:#5b6675;font-size:12px;text-transform:uppercase;letter-spacing:.4px}
main{display:grid;grid-template-columns:1fr 1fr;gap:18px;padding:18px 32px 28px}
figure.chart{margin:0;background:#fff;border-radius:12px;padding:16px 18px 12px;box-shadow:0 1px 3px rgba(16,24,40,.1)}
figcaption h2{margin:0;font-size:16px;font-weight:650}
figcaption .sub{margin:2px 0 8px;color:#5b6675;font-size:12.5px}
dl.figures{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0 0 6px}
.fig dt{font-size:11.5px;color:#5b6675;text-transform:uppercase;letter-spacing:.3px}
.fig dd{margin:0;font-size:18px;font-weight:650;color:#1f2a44}
.fig small{font-size:12px;font-weight:500;color:#5b6675}
svg text{font-family:inherit}
.grid{stroke:#e6e9ee;stroke-width:1}
.axis{stroke:#9aa5b1;stroke-width:1}
.tick{font-size:11px;fill:#5b6675}
.axis-title{font-size:11.5px;fill:#3e4c59;font-weight:600}
.band{font-size:11px;font-weight:600}
.value{font-size:11.5px;fill:#1f2a44;font-weight:600}
.place{font-size:11px;fill:#1f2a44;paint-order:stroke;stroke:#fff;stroke-width:3px}
.sea{fill:#eef4fa;stroke:#c9d6e3}
.graticule{stroke:#c9d6e3;stroke-width:.8;stroke-dasharray:3 3}
.empty{fill:#fafbfc;stroke:#e6e9ee;stroke-dasharray:4 4}
.empty-text{font-size:13px;fill:#7b8794}
ul.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;margin:4px 0 0;padding:0;font-size:12px;color:#3e4c59}
ul.legend li{display:flex;align-items:center;gap:6px}
.note{margin:8px 0 0;font-size:12px;color:#5b6675}
code{font-size:12px;background:#eef1f5;padding:1px 4px;border-radius:4px}
footer{padding:0 32px 28px;color:#5b6675;font-size:12px}
@media (max-width:900px){main{grid-template-columns:1fr}.kpis{grid-template-columns:repeat(3,1fr)}}
`;

/** The whole report as one self-contained HTML document. */
export function renderDashboardHtml(d: DashboardData, opts: RenderOptions = {}): string {
  const title = opts.title ?? 'edgelake report';
  const t = d.totals;
  const s = d.latency.summary;
  const kpis: [string, string][] = [
    ['records processed', count(t.recordsIn)],
    ['volume reduction', t.reductionPct === null ? '–' : `${t.reductionPct}%`],
    ['written to the lake', bytes(t.bytesWritten)],
    ['p95 latency', s.p95 === null ? '–' : duration(s.p95)],
    ['alerts', count(d.alerts.total)],
    ['sensors on the map', count(d.sensors.length)],
  ];
  const charts = [volumeChart(d), costChart(d), latencyChart(d), anomaliesChart(d), mapChart(d), nodesChart(d)];
  const queries = Object.keys(d.results).map((n) => `<code>${esc(n)}</code>`).join(' ');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(title)}</h1><p>Edge-to-lakehouse pipeline · generated ${esc(d.generatedAt.replace('T', ' ').slice(0, 19))} UTC${opts.source ? ` · lake: ${esc(opts.source)}` : ''}</p></header>
<section class="kpis">${kpis.map(([k, v]) => `<div class="kpi"><b>${esc(v)}</b><span>${esc(k)}</span></div>`).join('')}</section>
<main>
${charts.join('\n')}
</main>
<footer>Figures come from the demo and dashboard queries (${queries}) run locally with DuckDB over the lake's <code>sensor_data.*</code> views; the same SQL runs on Databricks (see <code>databricks/</code>). Hover a mark for its exact value.</footer>
</body>
</html>
`;
}
