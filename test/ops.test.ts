/**
 * The operator's files in ops/: the Grafana dashboard loads, and every query in it is valid
 * PromQL (Prometheus' own Lezer grammar) naming only series and labels the exporter exposes;
 * ops/README.md describes every panel with its queries; the Prometheus scrape example and the
 * daemon job agree on the port and path `run --metrics-addr` serves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parser } from '@prometheus-io/lezer-promql';
import { Registry } from 'prom-client';
import { parseCommandLine } from '../src/cli/args.ts';
import { parseListenAddress } from '../src/ops/addr.ts';
import { defineSeries } from '../src/ops/series.ts';
import { REPO_ROOT } from './helpers/cli.ts';
import { JobSchema } from './helpers/bacalhau-model.ts';
import { parseYaml } from './helpers/yaml.ts';

interface Target {
  readonly expr: string;
  readonly refId: string;
}
interface Panel {
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly targets?: Target[];
  readonly datasource?: { type: string; uid: string };
  readonly gridPos: { h: number; w: number; x: number; y: number };
}

const dashboard = JSON.parse(readFileSync(join(REPO_ROOT, 'ops/grafana-dashboard.json'), 'utf8')) as {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query?: unknown }> };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');

/** Every series name the exporter exposes (histograms as _bucket/_sum/_count), with its label names. */
function exposed(): Map<string, Set<string>> {
  const registry = new Registry();
  defineSeries([registry]);
  const out = new Map<string, Set<string>>();
  for (const m of registry.getMetricsAsArray()) {
    const labels = new Set([...((m as unknown as { labelNames: string[] }).labelNames ?? []), 'node']);
    if (String(m.type) === 'histogram') {
      out.set(`${m.name}_bucket`, new Set([...labels, 'le']));
      out.set(`${m.name}_sum`, labels);
      out.set(`${m.name}_count`, labels);
    } else out.set(m.name, labels);
  }
  return out;
}

/** Grafana's variables, replaced by values Prometheus would see. */
const concrete = (expr: string) => expr.replaceAll('$__rate_interval', '5m').replaceAll('$__interval', '1m').replaceAll('$__range', '1h');

/** The metric names, the label names of matchers and groupings, and syntax errors of one PromQL expression. */
function promql(expr: string): { metrics: string[]; selectors: Array<{ metric: string; labels: string[] }>; grouping: string[]; errors: string[] } {
  const text = concrete(expr);
  const tree = parser.parse(text);
  const out = { metrics: [] as string[], selectors: [] as Array<{ metric: string; labels: string[] }>, grouping: [] as string[], errors: [] as string[] };
  tree.iterate({
    enter: (n) => {
      if (n.type.isError) out.errors.push(`at ${n.from}: ${JSON.stringify(text.slice(n.from, n.to + 10))}`);
      if (n.name === 'VectorSelector') {
        const id = n.node.getChild('Identifier');
        const metric = id ? text.slice(id.from, id.to) : '';
        const labels: string[] = [];
        const matchers = n.node.getChild('LabelMatchers');
        matchers?.toTree().iterate({ enter: (m) => void (m.name === 'LabelName' && labels.push(text.slice(matchers.from + m.from, matchers.from + m.to))) });
        out.metrics.push(metric);
        out.selectors.push({ metric, labels });
      }
      if (n.name === 'GroupingLabels') {
        for (let c = n.node.firstChild; c; c = c.nextSibling) if (c.name === 'LabelName') out.grouping.push(text.slice(c.from, c.to));
      }
    },
  });
  return out;
}

test('the Grafana dashboard loads: a Prometheus datasource variable, a node variable, panels with queries on a 24-column grid', () => {
  assert.equal(dashboard.uid, 'edgelake-fleet');
  assert.ok(dashboard.schemaVersion >= 36);
  const vars = new Map(dashboard.templating.list.map((v) => [v.name, v]));
  assert.equal(vars.get('datasource')?.type, 'datasource');
  assert.equal(vars.get('node')?.type, 'query');
  assert.ok(panels.length >= 15, `${panels.length} panels`);
  const ids = new Set(dashboard.panels.map((p) => (p as unknown as { id: number }).id));
  assert.equal(ids.size, dashboard.panels.length, 'panel ids are unique');
  for (const p of panels) {
    assert.ok(p.targets && p.targets.length > 0, `${p.title} has queries`);
    assert.equal(p.datasource?.uid, '${datasource}', p.title);
    assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the grid`);
    assert.ok(p.description, `${p.title} says what it shows`);
  }
  const titles = panels.map((p) => p.title).join('\n');
  for (const topic of [/lag/i, /rows landed per second/i, /failures/i, /alert latency, event → webhook/i]) assert.match(titles, topic);
});

test('every dashboard query is valid PromQL naming only series and labels the exporter exposes, each filtered to the chosen nodes', () => {
  const series = exposed();
  const used = new Set<string>();
  const exprs = [...panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: p.title, expr: t.expr }))), { where: 'variable node', expr: 'edgelake_build_info' }];
  for (const { where, expr } of exprs) {
    const q = promql(expr);
    assert.deepEqual(q.errors, [], `${where}: ${expr}`);
    assert.ok(q.metrics.length > 0, `${where}: names a series`);
    for (const s of q.selectors) {
      const labels = series.get(s.metric);
      assert.ok(labels, `${where}: ${s.metric} is not a series the exporter exposes`);
      used.add(s.metric);
      for (const l of s.labels) assert.ok(labels.has(l), `${where}: ${s.metric} has no label ${l}`);
      if (where !== 'variable node') assert.ok(s.labels.includes('node'), `${where}: ${s.metric} is filtered by $node`);
    }
    const labelsOfQuery = new Set(q.selectors.flatMap((s) => [...(series.get(s.metric) ?? [])]));
    for (const g of q.grouping) assert.ok(labelsOfQuery.has(g), `${where}: groups by ${g}, a label none of its series has`);
  }
  for (const wanted of ['edgelake_checkpoint_lag_seconds', 'edgelake_rows_written_total', 'edgelake_upload_failures_total', 'edgelake_webhook_delivery_seconds_bucket']) {
    assert.ok(used.has(wanted), `the dashboard shows ${wanted}`);
  }
});

test('a broken query is caught: the check itself can fail', () => {
  assert.notDeepEqual(promql('sum by (node (rate(edgelake_rows_written_total[5m]))').errors, []);
  assert.equal(exposed().has('edgelake_rows_writen_total'), false);
});

test('ops/README.md describes every panel of the dashboard with its queries', () => {
  const readme = readFileSync(join(REPO_ROOT, 'ops/README.md'), 'utf8');
  for (const p of panels) {
    assert.ok(readme.includes(p.title), `ops/README.md lacks the panel "${p.title}"`);
    for (const t of p.targets ?? []) assert.ok(readme.includes(t.expr.replaceAll('|', '\\|')), `ops/README.md lacks the query of "${p.title}": ${t.expr}`);
  }
});

test('the Prometheus scrape example and the daemon job agree on the port and path --metrics-addr serves', () => {
  const prom = parseYaml(readFileSync(join(REPO_ROOT, 'ops/prometheus.yml'), 'utf8')) as {
    scrape_configs: Array<{ job_name: string; metrics_path: string; static_configs: Array<{ targets: string[] }> }>;
  };
  const job = prom.scrape_configs.find((c) => c.job_name === 'edgelake');
  assert.ok(job);
  assert.equal(job.metrics_path, '/metrics');
  const daemon = JobSchema.parse(parseYaml(readFileSync(join(REPO_ROOT, 'jobs/edgelake-daemon.yaml'), 'utf8')));
  const task = daemon.Tasks[0];
  const parsed = parseCommandLine(task.Engine.Params.Parameters ?? []);
  const addr = parseListenAddress(String(parsed.options.metricsAddr));
  assert.ok(typeof addr !== 'string', String(addr));
  assert.equal(addr.host, '0.0.0.0', 'inside the container: every interface of its own namespace, or the published port reaches nothing');
  const port = task.Network?.Ports?.find((p) => p.Name === 'metrics');
  assert.ok(port, 'the daemon publishes the metrics port');
  assert.equal(task.Network?.Type, 'Bridge');
  assert.equal(port.Target, addr.port);
  for (const t of job.static_configs.flatMap((c) => c.targets)) assert.match(t, new RegExp(`:${port.Static}$`));
});
