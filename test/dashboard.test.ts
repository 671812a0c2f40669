import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { overlaps, placeLabels, type Box } from '../src/dashboard/labels.ts';
import { openQueryEngine, queryByName } from '../src/query/engine.ts';
import { CHROMIUM_PATH, chromiumAvailable, dumpDom, screenshot } from './helpers/chromium.ts';
import { REPO_ROOT, describeResult, runCli } from './helpers/cli.ts';
import { spawnEdgelake } from './helpers/demo-run.ts';
import { until } from './helpers/until.ts';
import { METRICS_BUCKET, readLake } from './helpers/lake.ts';
import { buildPipelineLake, type PipelineLake } from './helpers/pipeline-lake.ts';

const COST_PER_GB = 0.12;
const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

/** `data-figure` → `data-value` of every figure span in an HTML/DOM text. */
function figuresOf(markup: string): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const m of markup.matchAll(/<span data-figure="([^"]+)" data-value="([^"]*)">/g)) out[m[1]] = m[2] === '' ? null : Number(m[2]);
  return out;
}

/** Every panel: its name, data-points and inner markup. */
function chartsOf(markup: string): { chart: string; points: number; body: string }[] {
  return [...markup.matchAll(/<(figure|section) class="chart[^"]*" data-chart="([^"]+)" data-points="(\d+)">([\s\S]*?)<\/\1>/g)].map((m) => ({
    chart: m[2],
    points: Number(m[3]),
    body: m[4],
  }));
}

/** The boxes the map's labels occupy (`data-label-box="x,y,w,h"`). */
function labelBoxes(markup: string): Box[] {
  return [...markup.matchAll(/data-label-box="([^"]+)"/g)].map((m) => {
    const [x, y, w, h] = m[1].split(',').map(Number);
    return { x, y, w, h };
  });
}

const PANELS = ['success', 'fleet', 'latency-compare', 'volume', 'rejects', 'privacy', 'latency', 'anomalies'];

describe('the static report of a lake without a cloud-only baseline', () => {
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

  test('the report is one self-contained file: no scripts, no external URLs, fonts or stylesheets, and no reload', () => {
    assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import|url\(/i);
    assert.doesNotMatch(html.replace(/xmlns="http:\/\/www\.w3\.org\/2000\/svg"/g, ''), /(src|href)=|https?:\/\//i);
    assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
    assert.doesNotMatch(html, /http-equiv="refresh"/, 'only the served page reloads itself');
  });

  test('the report has every panel, and each panel with data has marks, a title and a legend or table', () => {
    const charts = chartsOf(html);
    assert.deepEqual(charts.map((c) => c.chart), PANELS);
    for (const c of charts) {
      assert.match(c.body, /<h2>[^<]+<\/h2>/, `${c.chart} has a title`);
      if (c.chart === 'success' || c.chart === 'privacy' || c.points === 0) continue;
      const marks = (c.body.match(/class="mark/g) ?? []).length;
      assert.ok(marks >= c.points, `${c.chart}: ${marks} marks for ${c.points} points`);
      assert.match(c.body, /<ul class="legend">|<table class="data">/, `${c.chart} has a legend`);
    }
    for (const chart of ['latency', 'anomalies', 'volume', 'latency-compare']) assert.ok(charts.find((c) => c.chart === chart)!.points > 0, `${chart} has data`);
    // This lake's node ran without an identity file: it is listed, but not placed on the map.
    const fleet = charts.find((c) => c.chart === 'fleet')!;
    assert.equal(fleet.points, 0);
    assert.match(fleet.body, /<table class="data">[\s\S]*<td>–<\/td>/);
    assert.match(fleet.body, /name a city the map does not know/);
  });

  test('the figures equal the answers computed from the lake files', () => {
    const figures = figuresOf(html);
    const objects = readLake(built.lake);
    const recs = (bucketPart: string, dataset: string) => objects.filter((o) => o.bucket.includes(bucketPart) && o.key.startsWith(dataset + '/')).flatMap((o) => o.records);
    const validated = [...recs('-validated-', 'sensor_readings'), ...recs('-enriched-', 'sensor_readings')];
    const latency = readLake(built.lake, METRICS_BUCKET)
      .filter((o) => o.key.startsWith('latency_metrics/'))
      .flatMap((o) => o.records)
      .filter((l) => l.p50 !== undefined && l.p50 !== null && l.pipeline_type !== 'alerts' && l.processing_location === 'edge');
    const p50s = latency.map((l) => Number(l.p50)).sort((a, b) => a - b);
    const median = p50s.length % 2 ? p50s[(p50s.length - 1) / 2] : (p50s[p50s.length / 2 - 1] + p50s[p50s.length / 2]) / 2;
    const nodes = new Set(recs('-metrics-', 'pipeline_metrics').map((m) => m.node_id));
    const alerts = recs('-emergency-', 'alerts');
    const expected: Record<string, number | null> = {
      alerts_total: alerts.length,
      alerts_high: alerts.filter((a) => a.alert_priority === 'high').length,
      fleet_nodes: nodes.size,
      validated_readings: validated.length,
      rejected_readings: validated.filter((r) => !(r._validation as { valid: boolean }).valid).length,
      latency_batches: latency.length,
      latency_p50_ms: median,
      usd_per_gb: COST_PER_GB,
      raw_usd_per_tb: 1000 * COST_PER_GB,
      // No cloud-only baseline in this lake: nothing to compare the same rows with.
      aggregated_reduction_pct: null,
    };
    for (const [k, v] of Object.entries(expected)) assert.equal(figures[k], v, `figure ${k}`);
  });

  test('the metrics panel shows all five metrics, with no data where the lake holds no cloud-only baseline, and the same values as the query', async () => {
    const engine = await openQueryEngine({ lake: built.lake });
    try {
      const rows = (await engine.named(queryByName('metrics_success'))).rows;
      assert.equal(rows.length, 5);
      const figures = figuresOf(html);
      for (const r of rows) assert.equal(figures[`metric_${r.ordinal}`], r.measured, `metric ${r.ordinal}`);
      const status = Object.fromEntries([...html.matchAll(/data-metric="(\d)" data-status="([^"]+)"/g)].map((m) => [Number(m[1]), m[2]]));
      assert.deepEqual(status, Object.fromEntries(rows.map((r) => [r.ordinal, r.status])));
      assert.equal(status[1], 'no data');
      assert.equal(status[2], 'no data');
      assert.match(html, /No baseline parameters in this lake/);
    } finally {
      engine.close();
    }
  });

  test('headless Chromium renders every panel with its marks and the same figures, and a screenshot is kept', async (t) => {
    if (!chromiumAvailable()) {
      t.skip(`${CHROMIUM_PATH} is not installed (apt-get install -y chromium); browser rendering not checked`);
      return;
    }
    const dom = await dumpDom(report);
    const charts = chartsOf(dom);
    assert.deepEqual(charts.map((c) => c.chart), PANELS);
    for (const c of charts.filter((x) => x.points > 0 && x.chart !== 'success' && x.chart !== 'privacy')) {
      assert.match(c.body, /<svg[^>]*viewBox/, `${c.chart} has an SVG`);
      assert.match(c.body, /<(rect|circle|polyline)[^>]*class="mark/, `${c.chart} has marks`);
    }
    assert.deepEqual(figuresOf(dom), figuresOf(html));
    mkdirSync(ARTIFACTS, { recursive: true });
    const png = join(ARTIFACTS, 'dashboard.png');
    await screenshot(report, png, 1400, 2800);
    assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'a PNG');
    assert.ok(statSync(png).size > 20_000, 'the screenshot is not blank');
    t.diagnostic(`screenshot: ${png}`);
  });
});

describe('map labels', () => {
  test('labels of crowded points never overlap each other or any dot, and stay inside the plot', () => {
    const bounds = { x: 0, y: 0, w: 500, h: 300 };
    // A cluster (cities a few pixels apart), a row along the right edge and a few loners.
    const pts = [
      ...Array.from({ length: 8 }, (_, i) => ({ x: 200 + (i % 3) * 6, y: 140 + Math.floor(i / 3) * 7, r: 6, text: `Cluster city ${i} · edge-c-${i}` })),
      ...Array.from({ length: 5 }, (_, i) => ({ x: 490, y: 30 + i * 50, r: 5, text: `Edge ${i} · edge-e-${i}` })),
      { x: 20, y: 20, r: 8, text: 'Corner · edge-corner-01' },
      { x: 250, y: 290, r: 7, text: 'Bottom · edge-bottom-01' },
    ];
    const labels = placeLabels(pts, bounds, { size: 11 });
    assert.equal(labels.length, pts.length);
    for (const [i, a] of labels.entries()) {
      assert.ok(a.box.x >= 0 && a.box.y >= 0 && a.box.x + a.box.w <= 500 && a.box.y + a.box.h <= 300, `label ${i} inside`);
      for (const [j, b] of labels.entries()) if (j > i) assert.ok(!overlaps(a.box, b.box), `labels ${i} and ${j} overlap`);
      for (const p of pts) assert.ok(!overlaps(a.box, { x: p.x - p.r, y: p.y - p.r, w: 2 * p.r, h: 2 * p.r }), `label ${i} covers a dot`);
    }
    assert.ok(labels.some((l) => l.leader), 'crowded labels moved away get a leader line to their dot');
  });
});

describe('the served dashboard during a demo', () => {
  test('edgelake dashboard --serve shows the demo live: waiting at the start, filling in the middle, all five metrics at the end, without overlapping map labels', { timeout: 170_000 }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'edgelake-served-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const server = spawnEdgelake(['dashboard', '--serve', '--port', '0', '--refresh', '2', '--lake', join(dir, 'lake')], 170_000);
    t.after(() => server.child.kill('SIGTERM'));
    const url = await until('the server to say where it listens', () => /Serving the dashboard at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(server.stdout())?.[1], 60_000);
    const get = async () => {
      const r = await fetch(url);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-security-policy') ?? '', /default-src 'none'/);
      return r.text();
    };
    /** The page once `ok` holds for it (it is rendered again every refresh interval). */
    const pageWhen = async (what: string, ok: (html: string) => boolean, timeoutMs: number): Promise<string> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const html = await get();
        if (ok(html)) return html;
        if (Date.now() > deadline) throw new Error(`the served page never showed ${what}`);
        await sleep(500);
      }
    };
    const start = await get();
    assert.match(start, /http-equiv="refresh" content="2"/, 'the page reloads itself');
    assert.match(start, /data-waiting="1"/, 'before the demo writes its lake, the page waits for it');

    const demo = spawnEdgelake(['demo', '--nodes', '5', '--duration', '20s', '--dir', dir, '--cloud-upload-interval', '3s', '--cloud-trigger-interval', '3s'], 160_000);
    const shots = chromiumAvailable();
    mkdirSync(ARTIFACTS, { recursive: true });
    if (shots) await screenshot(url, join(ARTIFACTS, 'dashboard-served-start.png'), 1400, 1400);
    // The middle: stage 3 switched (node identities arrive with enriched records).
    await until('the demo to reach stage 4', () => /Stage 4 — Edge Aggregation/.test(demo.stdout()) || demo.child.exitCode !== null, 120_000, 200);
    assert.equal(demo.child.exitCode, null, `the demo ended early:\n${demo.stdout()}\n${demo.stderr()}`);
    // Mid-run: edge latency and located nodes (all five on a quiet machine; on a loaded one a node's
    // first enriched batch may still be on its way), taken while the demo still writes.
    const middle = await pageWhen('edge latency and located nodes mid-run', (h) => (chartsOf(h).find((c) => c.chart === 'fleet')?.points ?? 0) > 0 && chartsOf(h).find((c) => c.chart === 'latency')!.points > 0, 30_000);
    assert.equal(demo.child.exitCode, null, 'the middle page was taken while the demo ran');
    if (shots) await screenshot(url, join(ARTIFACTS, 'dashboard-served-middle.png'), 1400, 2800);
    const result = await demo.exited;
    assert.equal(result.code, 0, describeResult(result));
    const done = (h: string) => (h.match(/<div class="metric (pass|fail)"/g) ?? []).length === 5 && /data-param="upload_interval"/.test(h);
    const end = await pageWhen('the five measured metrics after the demo', done, 30_000);
    const charts = chartsOf(end);
    assert.deepEqual(charts.map((c) => c.chart), PANELS);
    assert.equal(charts.find((c) => c.chart === 'success')!.points, 5);
    assert.equal((end.match(/<div class="metric (pass|fail)"/g) ?? []).length, 5, 'five metrics with pass/fail');
    assert.equal(charts.find((c) => c.chart === 'fleet')!.points, 5, 'five located nodes on the map');
    assert.match(end, /data-param="upload_interval">3 s</, 'the baseline parameters are shown');
    assert.match(end, /1 s target/);
    const boxes = labelBoxes(end);
    assert.equal(boxes.length, 6, 'five nodes and the central region labelled');
    for (const [i, a] of boxes.entries()) for (const b of boxes.slice(i + 1)) assert.ok(!overlaps(a, b), 'map labels do not overlap');
    // The records may all be in by the middle (the sensors stop soon after stage 4 starts); the end adds the
    // final flush's windows and the cloud-only path's last trigger, so some figure has moved.
    assert.notDeepEqual(figuresOf(end), figuresOf(middle), 'the page changed as the lake grew');
    const engine = await openQueryEngine({ lake: join(dir, 'lake') });
    try {
      const figures = figuresOf(end);
      for (const r of (await engine.named(queryByName('metrics_success'))).rows) assert.equal(figures[`metric_${r.ordinal}`], r.measured, `served metric ${r.ordinal} = query`);
    } finally {
      engine.close();
    }
    if (shots) {
      const png = join(ARTIFACTS, 'dashboard-served-end.png');
      await screenshot(url, png, 1400, 2800);
      assert.ok(statSync(png).size > 50_000, 'the final screenshot is not blank');
      t.diagnostic(`screenshots: ${join(ARTIFACTS, 'dashboard-served-{start,middle,end}.png')}`);
    }
  });
});
