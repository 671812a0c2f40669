import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { openQueryEngine, type QueryEngine } from '../src/query/engine.ts';
import { adaptDatabricksSql } from '../src/query/adapt.ts';
import { LAKEVIEW_PAGES } from '../src/schema/lakeview-spec.ts';
import { GRID_COLUMNS, lakeviewJson, type LvDashboard, type LvWidget } from '../src/schema/lakeview.ts';
import { QUERY_DEFS, renderedQueries } from '../src/schema/queries.ts';
import { describeResult, runCli } from './helpers/cli.ts';
import { maxId } from './helpers/sensor-db.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = () => readFileSync(join(root, 'databricks', 'edgelake.lvdash.json'), 'utf8');
const dashboard = (): LvDashboard => JSON.parse(committed()) as LvDashboard;

/** Every `fieldName` / `parameterName` an encoding tree names. */
function named(node: unknown, key: 'fieldName' | 'parameterName', out: string[] = []): string[] {
  if (Array.isArray(node)) for (const x of node) named(x, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key && typeof v === 'string') out.push(v);
      else named(v, key, out);
    }
  }
  return out;
}

const widgets = (d: LvDashboard) => d.pages.flatMap((p) => p.layout.map((l) => ({ page: p.name, ...l })));

/**
 * A demo-like lake built with the CLI as an operator would: two nodes (one running every stage
 * in turn, one ingestion then enriched, as Bacalhau executions), some readings made bad in the
 * sensor database so validation has rejects to show.
 */
let dir: string;
let lake: string;
let engine: QueryEngine;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-lakeview-'));
  lake = join(dir, 'lake');
  const nodes = [
    { id: 'edge-nyc-01', city: 'New York', country: 'US', stages: ['ingestion', 'validated', 'enriched', 'aggregated'] },
    { id: 'edge-par-01', city: 'Paris', country: 'FR', stages: ['ingestion', 'enriched'] },
  ];
  for (const [n, node] of nodes.entries()) {
    const db = join(dir, `${node.id}.db`);
    const env = {
      NODE_ID: node.id,
      NODE_CITY: node.city,
      NODE_COUNTRY: node.country,
      NODE_DATACENTER: `${node.id}-dc`,
      NODE_TYPE: 'edge-gateway',
      BACALHAU_JOB_ID: 'j-edgelake-daemon',
      BACALHAU_EXECUTION_ID: `e-${node.id}`,
      BACALHAU_JOB_TYPE: 'daemon',
    };
    for (const [i, stage] of node.stages.entries()) {
      const before = i === 0 ? 0 : maxId(db);
      const sim = await runCli(['simulate', '--db', db, '--rows', '600', '--sensors', '4', '--seed', String(11 + 10 * n + i)]);
      assert.equal(sim.code, 0, describeResult(sim));
      const handle = new Database(db);
      // Bad writers: text in a REAL column and an impossible humidity, so stage 2 has rejects by rule.
      handle.prepare("UPDATE sensor_readings SET temperature = 'n/a' WHERE id > ? AND id % 37 = 0").run(before);
      handle.prepare('UPDATE sensor_readings SET humidity = 250 WHERE id > ? AND id % 53 = 0').run(before);
      handle.close();
      const run = await runCli(['run', '--db', db, '--once', '--lake', lake, '--type', stage, '--batch-size', '200'], { env });
      assert.equal(run.code, 0, describeResult(run));
    }
  }
  engine = await openQueryEngine({ lake });
});
after(() => {
  engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the committed databricks/edgelake.lvdash.json is exactly what the query definitions generate', () => {
  assert.equal(committed(), lakeviewJson(), 'databricks/edgelake.lvdash.json is stale: run npm run gen:databricks');
});

test('the dashboard has a page per concern, a global filters page, and stays within the AI/BI limits', () => {
  const d = dashboard();
  const canvas = d.pages.filter((p) => p.pageType === 'PAGE_TYPE_CANVAS').map((p) => p.name);
  assert.deepEqual(canvas, LAKEVIEW_PAGES.map((p) => p.id));
  assert.equal(d.pages.filter((p) => p.pageType === 'PAGE_TYPE_GLOBAL_FILTERS').length, 1);
  // Databricks: at most 100 datasets, 10 pages and 100 widgets per dashboard.
  assert.ok(d.datasets.length <= 100 && d.pages.length <= 10 && widgets(d).length <= 100, `${d.datasets.length} datasets, ${d.pages.length} pages, ${widgets(d).length} widgets`);
  for (const p of d.pages.filter((x) => x.pageType === 'PAGE_TYPE_CANVAS')) {
    assert.ok(p.layout.some((l) => l.widget.spec), `page ${p.name} has a visualization`);
  }
  const names = widgets(d).map((w) => w.widget.name);
  assert.equal(new Set(names).size, names.length, 'widget names are unique');
  assert.equal(new Set(d.datasets.map((x) => x.name)).size, d.datasets.length, 'dataset names are unique');
});

test('every page lays its widgets out on the 12-column grid without overlaps', () => {
  for (const p of dashboard().pages) {
    const cells = new Set<string>();
    for (const { widget, position: r } of p.layout) {
      assert.ok(r.x >= 0 && r.width >= 1 && r.x + r.width <= GRID_COLUMNS && r.y >= 0 && r.height >= 1, `${p.name}/${widget.name} ${JSON.stringify(r)}`);
      for (let x = r.x; x < r.x + r.width; x++) {
        for (let y = r.y; y < r.y + r.height; y++) {
          assert.ok(!cells.has(`${x},${y}`), `${p.name}/${widget.name} overlaps at ${x},${y}`);
          cells.add(`${x},${y}`);
        }
      }
    }
  }
});

test('every dataset is a query definition rendered for Databricks, with the parameters its SQL uses', () => {
  const rendered = new Map(renderedQueries().map((q) => [q.name, q]));
  const annotated = QUERY_DEFS.filter((q) => q.lakeview).map((q) => q.name);
  const d = dashboard();
  assert.deepEqual(d.datasets.map((x) => x.name), annotated);
  for (const ds of d.datasets) {
    const q = rendered.get(ds.name)!;
    assert.equal(ds.queryLines.join(''), q.databricksSql, ds.name);
    assert.ok(ds.queryLines.slice(0, -1).every((l) => l.endsWith('\n')), `${ds.name}: queryLines keep their newlines`);
    assert.doesNotMatch(q.databricksSql, /\bsensor_data\./, `${ds.name} names its tables through :catalog and :schema`);
    const keywords = (ds.parameters ?? []).map((p) => p.keyword);
    assert.ok(keywords.includes('catalog') && keywords.includes('schema'), `${ds.name} declares catalog and schema`);
    for (const m of q.databricksSql.replace(/'(?:[^']|'')*'|--[^\n]*/g, '').matchAll(/(?<![:\w]):([a-z_]+)/g)) {
      assert.ok(keywords.includes(m[1]), `${ds.name} uses :${m[1]} without declaring it`);
    }
    for (const p of ds.parameters ?? []) assert.deepEqual(p.defaultSelection.values.dataType, p.dataType);
  }
});

test('every parameter is set from the global filters page, bound to every dataset that declares it', () => {
  const d = dashboard();
  const filters = d.pages.find((p) => p.pageType === 'PAGE_TYPE_GLOBAL_FILTERS')!;
  for (const ds of d.datasets) {
    for (const p of ds.parameters ?? []) {
      const binding = filters.layout.some(({ widget }) => {
        const names = (widget.queries ?? []).filter((q) => q.query.datasetName === ds.name && q.query.parameters?.some((x) => x.keyword === p.keyword)).map((q) => q.name);
        return names.length > 0 && named(widget.spec?.encodings, 'parameterName').includes(p.keyword);
      });
      assert.ok(binding, `${ds.name}: no filter widget sets :${p.keyword}`);
    }
  }
  const price = filters.layout.find((l) => l.widget.name === 'filter_usd_per_gb');
  assert.ok(price, 'the price is a dashboard parameter');
});

test('every dataset runs through DuckDB with the query layer adaptation, and every widget binds to columns its dataset selects', async () => {
  const d = dashboard();
  const columns = new Map<string, string[]>();
  for (const ds of d.datasets) {
    const sql = ds.queryLines.join('');
    assert.equal(adaptDatabricksSql(sql), renderedQueries().find((q) => q.name === ds.name)!.duckdbSql, `${ds.name}: adaptation equals the DuckDB rendering`);
    const r = await engine.query(sql);
    columns.set(ds.name, r.columns.map((c) => c.name));
  }
  const visual = widgets(d).filter((w) => w.widget.spec && !String(w.widget.spec.widgetType).startsWith('filter-'));
  assert.ok(visual.length >= 20, `${visual.length} visualizations`);
  for (const { page, widget } of visual as { page: string; widget: LvWidget }[]) {
    const where = `${page}/${widget.name}`;
    assert.equal(widget.queries?.length, 1, where);
    const { datasetName, fields = [] } = widget.queries![0].query;
    const selected = columns.get(datasetName);
    assert.ok(selected, `${where} reads unknown dataset ${datasetName}`);
    for (const f of fields) {
      const cols = [...f.expression.matchAll(/`([^`]+)`/g)].map((m) => m[1]);
      assert.ok(cols.length === 1, `${where}: field ${f.name} names one column`);
      assert.ok(selected.includes(cols[0]), `${where}: ${datasetName} selects no column ${cols[0]} (has ${selected.join(', ')})`);
    }
    const fieldNames = fields.map((f) => f.name);
    const encoded = named(widget.spec!.encodings, 'fieldName');
    assert.ok(encoded.length > 0, `${where} encodes fields`);
    for (const e of encoded) assert.ok(fieldNames.includes(e), `${where}: encoding ${e} is not a field of its query (${fieldNames.join(', ')})`);
  }
});

test('on the demo lake the pages show data: stages, latency paths, nodes with executions, alerts, rejects, cost and the five metrics', async () => {
  const rows = async (name: string) => (await engine.named(renderedQueries().find((q) => q.name === name)!)).rows;
  const same = await rows('dash_volume_same_rows');
  assert.deepEqual(same.map((r) => r.pipeline_type), ['ingestion', 'validated', 'enriched', 'aggregated']);
  assert.ok(Object.is(same[0].reduction_vs_raw_pct, 0), `ingestion is the raw baseline: ${same[0].reduction_vs_raw_pct}`);
  assert.ok((same[3].reduction_vs_raw_pct as number) > 0, `aggregated reduces: ${same[3].reduction_vs_raw_pct}`);
  const nodes = await rows('dash_node_positions');
  assert.deepEqual(nodes.map((r) => [r.node_id, r.city, r.executions]), [['edge-nyc-01', 'New York', 1], ['edge-par-01', 'Paris', 1]]);
  const demo3 = await rows('demo_3_node_performance');
  assert.deepEqual(demo3.map((r) => r.jobs_processed), [1, 1], 'one daemon job, one execution per node');
  const paths = (await rows('demo_2_latency')).map((r) => `${r.processing_location}/${r.path}`);
  assert.deepEqual(paths, ['edge/alert', 'edge/lake']);
  const rejects = await rows('dash_rejects_by_rule');
  assert.ok(rejects.some((r) => r.field === 'temperature') && rejects.some((r) => r.field === 'humidity'), JSON.stringify(rejects));
  const share = await rows('dash_validation_share');
  assert.ok(share.every((r) => (r.rejected as number) > 0 && (r.valid_pct as number) < 100), JSON.stringify(share));
  const cost = await rows('dash_transfer_cost_savings');
  assert.ok(cost.every((r) => r.usd_per_gb === 0.09));
  // Ingestion against itself saves exactly nothing: not -0, not a rounding's cent (whatever the objects' sizes).
  const raw = cost.find((r) => r.pipeline_type === 'ingestion')!;
  assert.ok(Object.is(raw.savings_pct, 0) && Object.is(raw.bytes_saved, 0) && Object.is(raw.saved_usd, 0), JSON.stringify(raw));
  assert.equal(raw.raw_format_bytes, raw.bytes_written);
  // The dashboard's success metrics are the local report's and the demo's: one query.
  const metrics = await rows('metrics_success');
  assert.deepEqual(metrics.map((r) => r.ordinal), [1, 2, 3, 4, 5]);
  assert.equal(metrics[1].status, 'no data', 'no cloud-only baseline rows in this lake');
  for (const r of metrics) assert.ok(['pass', 'fail', 'no data'].includes(String(r.status)), JSON.stringify(r));
  const gps = await rows('metrics_gps_by_bucket');
  const [fuzzed, positions] = ['fuzzed', 'positions'].map((k) => gps.reduce((n, r) => n + Number(r[k]), 0));
  assert.ok(positions > 0 && gps.some((r) => r.bucket === 'enriched' && Number(r.fuzzed) === Number(r.positions)), JSON.stringify(gps));
  assert.equal(metrics[3].measured, Math.round((10_000 * fuzzed) / positions) / 100, 'fuzzed positions over the positions of every bucket');
  const alerts = (await rows('dash_alert_summary'))[0];
  const [{ n }] = (await engine.query('SELECT count(*) AS n FROM sensor_data.alerts')).rows;
  assert.equal(alerts.alerts, n);
});

test('the price parameter changes the cost figures locally as it does on the dashboard', async () => {
  const sql = renderedQueries().find((q) => q.name === 'dash_transfer_cost_savings')!.databricksSql;
  const at = async (usd: number) => (await engine.query(sql, { usd_per_gb: usd })).rows.find((r) => r.pipeline_type === 'aggregated')!;
  const [cheap, dear] = [await at(0.09), await at(0.9)];
  assert.equal(dear.usd_per_gb, 0.9);
  assert.ok((cheap.saved_usd as number) > 0, `aggregated saves: ${cheap.saved_usd}`);
  assert.ok(Math.abs((dear.saved_usd as number) / (cheap.saved_usd as number) - 10) < 1e-9, `${dear.saved_usd} vs ${cheap.saved_usd}`);
  await assert.rejects(engine.query(sql, { usd_per_gb: 'cheap' }), /parameter :usd_per_gb must be a number, got "cheap"/);
  await assert.rejects(engine.query(sql, { price: 1 }), /:price is not a query parameter; known: catalog, schema, usd_per_gb/);
});

test('databricks/README.md maps every panel of the local dashboard to widgets that exist on the Databricks one', () => {
  const readme = readFileSync(join(root, 'databricks', 'README.md'), 'utf8');
  const table = readme.slice(readme.indexOf('### Local dashboard panel → Databricks counterpart'), readme.indexOf('## Corrections'));
  const charts = new Set<string>();
  for (const f of readdirSync(join(root, 'src', 'dashboard'))) {
    const text = readFileSync(join(root, 'src', 'dashboard', f), 'utf8');
    for (const m of text.matchAll(/figureHtml\(\s*'([a-z_-]+)'|data-chart="([a-z_-]+)"/g)) charts.add(m[1] ?? m[2]);
  }
  assert.ok(charts.size >= 6, [...charts].join(', '));
  for (const c of charts) assert.ok(table.includes(`chart \`${c}\``), `local chart ${c} has no row in the README's panel table`);
  const d = dashboard();
  const titles = [...d.pages.map((p) => p.displayName), ...widgets(d).map((w) => String((w.widget.spec?.frame as { title?: string } | undefined)?.title ?? ''))];
  for (const row of table.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| local') && !l.startsWith('|---'))) {
    const target = row.split(' | ')[2] ?? '';
    for (const m of target.matchAll(/\*([^*]+)\*/g)) {
      assert.ok(titles.some((t) => t.startsWith(m[1])), `README names a Databricks widget "${m[1]}" that the dashboard does not have`);
    }
  }
  for (const p of LAKEVIEW_PAGES) assert.ok(readme.includes(`**${p.title}**`), `README lists page ${p.title}`);
});

test('ingestion against itself is exactly 0 % reduction and 0 saved, whatever its bytes and rows (no -0.0 from rounding a quotient)', async () => {
  // Pairs where (bytes / rows) * rows is not bytes in floating point, one above and one below.
  for (const [bytes, rows] of [[1000000, 7], [1000001, 49], [123456789, 1003]]) {
    const metrics = `(SELECT * FROM (VALUES ('ingestion', ${rows}, ${rows}, ${bytes * 3}, ${bytes}), ('aggregated', ${rows}, 10, ${bytes * 3}, ${Math.round(bytes / 40)}))
      AS m(pipeline_type, records_in, record_count, raw_size, data_size))`;
    for (const name of ['dash_volume_same_rows', 'dash_transfer_cost_savings']) {
      const q = renderedQueries().find((x) => x.name === name)!;
      const sql = q.duckdbSql.replaceAll('sensor_data.pipeline_metrics', metrics);
      const [ing, agg] = (await engine.query(sql, q.params ? { usd_per_gb: 0.09 } : undefined)).rows;
      const pct = name === 'dash_volume_same_rows' ? ing.reduction_vs_raw_pct : ing.savings_pct;
      assert.ok(Object.is(pct, 0), `${name}, ${bytes} B over ${rows} rows: ingestion ${pct}`);
      if (name === 'dash_transfer_cost_savings') assert.ok(Object.is(ing.bytes_saved, 0) && Object.is(ing.saved_usd, 0), JSON.stringify(ing));
      assert.equal(agg.pipeline_type, 'aggregated');
      assert.ok(((name === 'dash_volume_same_rows' ? agg.reduction_vs_raw_pct : agg.savings_pct) as number) > 90);
    }
  }
});
