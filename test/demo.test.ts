import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openQueryEngine, queryByName, type QueryEngine, type Row } from '../src/query/engine.ts';
import { CITIES, INVALID_KINDS } from '../src/simulate/index.ts';
import { demoLauncher, spawnEdgelake } from './helpers/demo-run.ts';
import { describeResult, type CliResult } from './helpers/cli.ts';
import { METRICS_BUCKET, listLakeFiles, readLake } from './helpers/lake.ts';

/**
 * A short fleet demo, run as `npm start` runs it (5 nodes, a shorter live phase and a faster
 * cloud cadence), then checked on its lake: located nodes with Bacalhau ids, millisecond edge
 * latencies beside the cloud-only path's, rejects by rule, alerts at the receiver, and the five
 * success metrics — each against what the lake's files say, not only what the queries say.
 */

const UPLOAD_MS = 5_000;
let dir: string;
let result: CliResult;
let engine: QueryEngine;
const lake = () => join(dir, 'lake');
const named = async (name: string): Promise<readonly Row[]> => (await engine.named(queryByName(name))).rows;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgelake-demo-'));
  const args = ['demo', '--nodes', '5', '--duration', '25s', '--dir', dir, '--invalid-rate', '0.05', '--cloud-upload-interval', `${UPLOAD_MS / 1000}s`, '--cloud-trigger-interval', '4s'];
  const t0 = Date.now();
  result = await spawnEdgelake(args, 150_000).exited;
  process.stderr.write(`# demo (${demoLauncher().why}) took ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  assert.equal(result.code, 0, describeResult(result));
  engine = await openQueryEngine({ lake: lake() });
});
after(() => {
  engine?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the demo prints a presenter\'s script: every stage switch with its command, the summary, the five demo queries and the success metrics', () => {
  const out = result.stdout;
  for (const stage of ['ingestion', 'validated', 'enriched', 'aggregated']) {
    assert.match(out, new RegExp(`\\$ edgelake pipeline set --type ${stage} --by presenter --db \\S+sensor_data\\.db`), `switch to ${stage}`);
  }
  assert.match(out, /Stage 2 — Data Validation[\s\S]*Stage 3 — Enrichment & Privacy[\s\S]*Stage 4 — Edge Aggregation/);
  assert.match(out, /\$ edgelake run --db \S+ --state-db \S+cloud-uploader-state\.db --type ingestion --no-alerts --batch-timeout 5s/, 'the cloud uploader is a real edgelake run');
  assert.match(out, /raw upload interval \(node → cloud\)\s+5 s/);
  assert.match(out, /central trigger interval \(Auto Loader\)\s+4 s/);
  for (const q of ['demo_1_volume_reduction', 'demo_2_latency', 'demo_3_node_performance', 'demo_4_gps_privacy', 'demo_5_geography']) assert.ok(out.includes(`[${q}]`), q);
  const metrics = out.slice(out.indexOf('Success metrics'));
  assert.equal((metrics.match(/\b(PASS|FAIL)\s*$/gm) ?? []).length, 5, `five metrics with a result:\n${metrics}`);
  assert.match(out, /demo finished in \d+ s/);
  assert.ok(existsSync(join(dir, 'report.html')), 'the dashboard is written');
});

test('at least five nodes are located by their identity and carry Bacalhau job and execution ids as a daemon job sets them', async () => {
  const nodes = await named('metrics_fleet_nodes');
  assert.equal(nodes.length, 5);
  const jobIds = new Set<string>();
  for (const n of nodes) {
    assert.ok(CITIES.some((c) => c.name === n.city), `${n.node_id} located in a known city: ${n.city}`);
    assert.ok(n.country && n.region && n.datacenter && n.node_type, `${n.node_id} identity: ${JSON.stringify(n)}`);
    assert.match(String(n.job_id), /^j-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.equal(n.executions, 1, `${n.node_id}: one execution of the daemon job`);
    jobIds.add(String(n.job_id));
  }
  assert.equal(jobIds.size, 1, 'one daemon job across the fleet');
  const [meta] = (
    await engine.query(`SELECT COUNT(DISTINCT _bacalhau_metadata.execution_id) AS executions, COUNT(DISTINCT _bacalhau_metadata.job_type) AS types,
      MIN(_bacalhau_metadata.job_type) AS job_type, COUNT(DISTINCT _bacalhau_metadata.node_snapshot.node_type) AS node_types
      FROM sensor_data.sensor_readings_enriched`)
  ).rows;
  assert.deepEqual([meta.executions, meta.types, meta.job_type], [5, 1, 'daemon']);
  assert.ok(Number(meta.node_types) >= 4, 'node types vary across the fleet');
  // Sensors sit near their node: every enriched reading's sensor location is its node's city.
  const [far] = (await engine.query(`SELECT COUNT(*) AS n FROM sensor_data.sensor_readings_enriched WHERE location <> _bacalhau_metadata.node_snapshot.location.city`)).rows;
  assert.equal(far.n, 0);
});

test('edge latencies are real milliseconds beside the cloud-only path\'s seconds, each measured per row', async () => {
  const rows = await named('metrics_latency_edge_cloud');
  const get = (loc: string, path: string) => rows.find((r) => r.processing_location === loc && r.path === path);
  const edgeAlert = get('edge', 'alert')!;
  const cloudAlert = get('cloud', 'alert')!;
  const edgeLake = get('edge', 'lake')!;
  const cloudLake = get('cloud', 'lake')!;
  for (const r of [edgeAlert, cloudAlert, edgeLake, cloudLake]) assert.ok(r && Number(r.n) > 0, JSON.stringify(rows));
  assert.ok(Number(edgeAlert.p50_ms) > 0 && Number(edgeAlert.p50_ms) < 1000, `edge alert p50 ${edgeAlert.p50_ms} ms`);
  assert.ok(Number(edgeLake.p50_ms) > 0 && Number(edgeLake.p50_ms) < 3000, `edge lake p50 ${edgeLake.p50_ms} ms (batch timeout 1 s)`);
  // The cloud path waits for its upload, so its rows are on average half an upload interval old before they even land.
  assert.ok(Number(cloudLake.p50_ms) > UPLOAD_MS / 4, `cloud landing p50 ${cloudLake.p50_ms} ms`);
  assert.ok(Number(cloudAlert.p50_ms) > Number(cloudLake.p50_ms), 'central detection comes after landing');
  // Each cloud landing record describes a real raw object: its bytes are the file's size.
  const cloudFiles = new Map(listLakeFiles(join(dir, 'cloud-lake')).filter((f) => f.endsWith('.jsonl.gz') && f.includes('/sensor_readings/')).map((f) => [f.split('/').pop()!, statSync(join(dir, 'cloud-lake', f)).size]));
  const landings = (await engine.query(`SELECT node_id, first_id, last_id, object_bytes FROM sensor_data.latency_metrics WHERE processing_location = 'cloud' AND pipeline_type = 'ingestion'`)).rows;
  assert.ok(landings.length > 0);
  for (const l of landings) {
    const name = `${l.node_id}_${String(l.first_id).padStart(12, '0')}-${String(l.last_id).padStart(12, '0')}.jsonl.gz`;
    assert.equal(l.object_bytes, cloudFiles.get(name), `object_bytes of ${name}`);
  }
});

test('the same-rows reduction is what the lake files say: aggregated bytes against the raw objects holding the very same rows', async () => {
  const records = (bucketPart: string) => readLake(lake()).filter((o) => o.bucket.includes(bucketPart) && o.key.startsWith('sensor_readings/')).flatMap((o) => o.records);
  const node = (r: Record<string, unknown>) => (r._pipeline as { node_id: string }).node_id;
  const range = new Map<string, [number, number]>();
  for (const r of records('-aggregated-')) {
    const [lo, hi] = range.get(node(r)) ?? [Infinity, -Infinity];
    range.set(node(r), [Math.min(lo, Number(r.first_id)), Math.max(hi, Number(r.last_id))]);
  }
  let raw = 0;
  for (const f of listLakeFiles(join(dir, 'cloud-lake')).filter((x) => /\/sensor_readings\/.*\.jsonl\.gz$/.test(x))) {
    const m = /\/([^/]+)_(\d{12})-(\d{12})\.jsonl\.gz$/.exec(f)!;
    const [lo, hi] = range.get(m[1]) ?? [Infinity, -Infinity];
    const first = Number(m[2]);
    const last = Number(m[3]);
    const overlap = Math.min(hi, last) - Math.max(lo, first) + 1;
    if (overlap > 0) raw += (statSync(join(dir, 'cloud-lake', f)).size * overlap) / (last - first + 1);
  }
  const written = readLake(lake(), METRICS_BUCKET)
    .filter((o) => o.key.startsWith('pipeline_metrics/'))
    .flatMap((o) => o.records)
    .filter((r) => r.pipeline_type === 'aggregated')
    .reduce((s, r) => s + Number(r.data_size), 0);
  const row = (await named('metrics_volume_same_rows')).find((r) => r.pipeline_type === 'aggregated')!;
  assert.equal(row.raw_bytes_same_rows, Math.round(raw));
  assert.equal(row.bytes_written, written);
  assert.equal(row.reduction_pct, Math.round(1000 * (1 - written / raw)) / 10);
  const [m1] = (await named('metrics_success')).filter((r) => r.ordinal === 1);
  assert.equal(m1.measured, row.reduction_pct, 'success metric 1 is the same figure');
});

test('rejected records are kept in the lake, each under the validation rule its kind of bad row breaks', async () => {
  const rules = await named('dash_rejects_by_rule');
  const known = new Set<string>(INVALID_KINDS.map((k) => k.rule));
  assert.ok(rules.length > 0, 'rejects exist');
  for (const r of rules) assert.ok(known.has(String(r.rule)), `rule ${r.rule} comes from a kind of bad row`);
  assert.ok(new Set(rules.map((r) => r.rule)).size >= 4, `several rules: ${rules.map((r) => r.rule).join(', ')}`);
  const share = await named('dash_validation_share');
  const rejected = share.reduce((s, r) => s + Number(r.rejected), 0);
  const printed = [...result.stdout.matchAll(/^\s+edge-\S+\s+.+?\s+([\d,]+)\s+([\d,]+)\s+[\d,]+\s+[\d,]+\s+[\d,]+\s+[\d,]+\s*$/gm)].map((m) => Number(m[2].replace(/,/g, '')));
  assert.equal(printed.length, 5, 'the summary lists the bad rows of every node');
  assert.ok(rejected > 0 && rejected <= printed.reduce((a, b) => a + b, 0), `${rejected} rejected of ${printed} bad rows written (stages 2 and 3 validate)`);
});

test('every alert reached the webhook receiver, and the cloud-only central process found the very same anomalies', async () => {
  const [a] = (await engine.query('SELECT COUNT(*) AS n, COUNT(DISTINCT alert_id) AS ids FROM sensor_data.alerts')).rows;
  assert.ok(Number(a.n) > 0, 'alerts were raised');
  const m = /On-call receiver: (\d+) alerts/.exec(result.stdout);
  assert.ok(m, 'the receiver reports what it got');
  assert.equal(Number(m[1]), a.ids, 'every alert delivered once to the webhook receiver');
  const same = /the edge raised (\d+), the cloud-only central process found (\d+), (\d+) of them the very same readings/.exec(result.stdout);
  assert.ok(same, result.stdout);
  assert.equal(same[1], same[2]);
  assert.equal(same[2], same[3]);
});

test('the five success metrics each have a measured value, a target and pass or fail', async () => {
  const rows = await named('metrics_success');
  assert.deepEqual(rows.map((r) => r.ordinal), [1, 2, 3, 4, 5]);
  for (const r of rows) {
    assert.equal(typeof r.measured, 'number', `metric ${r.ordinal} measured`);
    assert.ok(r.status === 'pass' || r.status === 'fail', `metric ${r.ordinal}: ${r.status}`);
    const pass = r.comparison === '<' ? Number(r.measured) < Number(r.target) : Number(r.measured) >= Number(r.target);
    assert.equal(r.status, pass ? 'pass' : 'fail');
  }
  const ratio = rows[1];
  assert.ok(Number(ratio.measured) >= 10, `edge at least 10× faster to an alert: ${ratio.measured}×`);
  // Privacy over every bucket: ingestion and validated ship true coordinates, so it cannot be 100 % here.
  assert.equal(rows[3].status, 'fail');
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.equal((html.match(/<div class="metric (pass|fail)"/g) ?? []).length, 5, 'the report shows the five metrics');
  for (const r of rows) assert.match(html, new RegExp(`data-figure="metric_${r.ordinal}" data-value="${r.measured}"`), `report metric ${r.ordinal} = query`);
});
