import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openQueryEngine } from '../src/query/engine.ts';
import { CHROMIUM_PATH, chromiumAvailable, dumpDom, screenshot } from './helpers/chromium.ts';
import { REPO_ROOT, describeResult, runCli } from './helpers/cli.ts';
import { METRICS_BUCKET, readLake } from './helpers/lake.ts';
import { buildPipelineLake, type PipelineLake } from './helpers/pipeline-lake.ts';

const COST_PER_GB = 0.12;
let dir: string;
let built: PipelineLake;
let html: string;
let report: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-dashboard-'));
  built = await buildPipelineLake(dir);
  report = join(dir, 'out', 'report.html');
  const r = await runCli(['dashboard', '--lake', built.lake, '--out', report, '--cost-per-gb', String(COST_PER_GB)]);
  assert.equal(r.code, 0, describeResult(r));
  assert.match(r.stdout, /Wrote .*report\.html/);
  html = readFileSync(report, 'utf8');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Figures expected from the lake's files, computed without DuckDB. */
function expectedFigures(lake: string): Record<string, number> {
  const objects = readLake(lake);
  const recs = (bucketPart: string, dataset: string) =>
    objects.filter((o) => o.bucket.includes(bucketPart) && o.key.startsWith(dataset + '/')).flatMap((o) => o.records);
  const metrics = recs('-metrics-', 'pipeline_metrics');
  const raw = metrics.reduce((a, m) => a + (m.raw_size as number), 0);
  const written = metrics.reduce((a, m) => a + (m.data_size as number), 0);
  const alerts = recs('-emergency-', 'alerts');
  const enriched = recs('-enriched-', 'sensor_readings');
  const latency = objects.filter((o) => o.bucket === METRICS_BUCKET && o.key.startsWith('latency_metrics/')).flatMap((o) => o.records);
  return {
    reduction_pct: Math.round(1000 * (1 - written / raw)) / 10,
    raw_bytes: raw,
    bytes_written: written,
    records_in: metrics.reduce((a, m) => a + (m.records_in as number), 0),
    alerts_total: alerts.length,
    alerts_high: alerts.filter((a) => a.alert_priority === 'high').length,
    sensors: new Set(enriched.filter((e) => e.latitude !== null).map((e) => e.sensor_id)).size,
    nodes: new Set(enriched.map((e) => (e._bacalhau_metadata as { node_id: string }).node_id)).size,
    node_records: enriched.length,
    latency_batches: latency.filter((l) => l.p50 !== undefined && l.p50 !== null && l.pipeline_type !== 'alerts').length,
    cost_per_gb: COST_PER_GB,
    saved_per_tb_usd: Math.round(100 * 1000 * COST_PER_GB * (1 - written / raw)) / 100,
  };
}

/** `data-figure` → `data-value` of every figure span in an HTML/DOM text. */
function figuresOf(markup: string): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of markup.matchAll(/<span data-figure="([^"]+)" data-value="([^"]*)">/g)) out[m[1]] = m[2] === '' ? null : Number(m[2]);
  return out;
}

/** Every chart figure: its name, data-points and inner markup. */
function chartsOf(markup: string): { chart: string; points: number; body: string }[] {
  return [...markup.matchAll(/<figure class="chart" data-chart="([^"]+)" data-points="(\d+)">([\s\S]*?)<\/figure>/g)].map((m) => ({
    chart: m[1],
    points: Number(m[2]),
    body: m[3],
  }));
}

/** Charts that can have data given the stages this build ran. */
function chartsWithData(p: PipelineLake): string[] {
  const charts = ['volume', 'cost', 'latency'];
  if (p.ran.includes('enriched')) charts.push('map', 'nodes');
  if (p.ran.length > 0) charts.push('anomalies'); // alerts run beside every stage
  return charts;
}

test('the report is one self-contained file: no scripts, no external URLs, fonts or stylesheets', () => {
  assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import|url\(/i);
  assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /(src|href)=|https?:\/\//i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
});

test('the report has the six charts, each with data points and SVG marks, titles, units and legends', () => {
  const charts = chartsOf(html);
  assert.deepEqual(charts.map((c) => c.chart).sort(), ['anomalies', 'cost', 'latency', 'map', 'nodes', 'volume']);
  for (const c of charts) {
    assert.match(c.body, /<h2>[^<]+<\/h2>/, `${c.chart} has a title`);
    if (!chartsWithData(built).includes(c.chart)) continue;
    assert.ok(c.points > 0, `${c.chart} has data-points > 0`);
    const marks = (c.body.match(/class="mark/g) ?? []).length;
    assert.ok(marks >= c.points, `${c.chart}: ${marks} marks for ${c.points} points`);
    assert.match(c.body, /<ul class="legend">/, `${c.chart} has a legend`);
  }
  if (built.skipped.length) console.log(`# stages not available in this build: ${built.skipped.join(', ')}`);
});

test('the text figures equal the answers computed from the lake files and from the queries', async () => {
  const figures = figuresOf(html);
  const expected = expectedFigures(built.lake);
  for (const [k, v] of Object.entries(expected)) {
    if ((k === 'sensors' || k === 'nodes' || k === 'node_records') && !built.ran.includes('enriched')) continue;
    assert.equal(figures[k], v, `figure ${k}`);
  }
  const engine = await openQueryEngine({ lake: built.lake });
  try {
    const [a] = (await engine.query('SELECT count(*) AS n FROM sensor_data.alerts')).rows;
    assert.equal(figures.alerts_total, a.n);
    const [l] = (await engine.query('SELECT median(p50) AS p50, median(p95) AS p95, max(p99) AS p99 FROM sensor_data.latency_metrics WHERE pipeline_type <> \'alerts\'')).rows;
    assert.deepEqual([figures.latency_p50_ms, figures.latency_p95_ms, figures.latency_p99_ms], [l.p50, l.p95, l.p99]);
    const [p] = (await engine.query('SELECT fuzzed_pct FROM (' + (await import('../src/schema/queries.ts')).QUERY_DEFS.find((q) => q.name === 'dash_privacy_compliance')!.sql((await import('../src/schema/dialect.ts')).DUCKDB) + ')')).rows;
    assert.equal(figures.fuzzed_pct, p.fuzzed_pct);
  } finally {
    engine.close();
  }
});

test('headless Chromium renders every chart with its marks and the same figures, and a screenshot is kept', async (t) => {
  if (!chromiumAvailable()) {
    t.skip(`${CHROMIUM_PATH} is not installed (apt-get install -y chromium); browser rendering not checked`);
    return;
  }
  const dom = await dumpDom(report);
  const charts = chartsOf(dom);
  assert.equal(charts.length, 6, 'six charts in the rendered DOM');
  for (const c of charts) {
    if (!chartsWithData(built).includes(c.chart)) continue;
    assert.ok(c.points > 0, `${c.chart} rendered with data`);
    assert.match(c.body, /<svg[^>]*viewBox/, `${c.chart} has an SVG`);
    assert.match(c.body, /<(rect|circle|polyline)[^>]*class="mark/, `${c.chart} has marks`);
  }
  assert.deepEqual(figuresOf(dom), figuresOf(html));
  const artifacts = join(REPO_ROOT, 'test-artifacts');
  mkdirSync(artifacts, { recursive: true });
  const png = join(artifacts, 'dashboard.png');
  await screenshot(report, png, 1280, 2000);
  const head = readFileSync(png).subarray(0, 8);
  assert.deepEqual([...head], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
  assert.ok(statSync(png).size > 20_000, 'the screenshot is not blank');
  t.diagnostic(`screenshot: ${png}`);
});
