import { join } from 'node:path';
import { buildDashboard } from '../dashboard/build.ts';
import { metricTarget, metricValue } from '../dashboard/metrics-panel.ts';
import { openQueryEngine, queryByName, knownQueries } from '../query/engine.ts';
import { formatNamed } from '../query/format.ts';
import type { DemoRun } from './run.ts';
import { textTable } from './script.ts';

/**
 * The end of the demo: what every node did, the edge against the cloud-only baseline (the same
 * anomalies, found how much later), the five demo queries and the success metrics — all from the
 * lake, with the same SQL `edgelake query` runs and Databricks runs — and the dashboard beside it.
 * Returns the exit code: 0, also when a success metric fails (a measurement, not an error).
 */
export async function printResults(run: DemoRun, out: NodeJS.WritableStream): Promise<number> {
  const say = run.presenter;
  const lake = say.path(run.lake);
  const engine = await openQueryEngine({ lake: run.lake });
  try {
    say.step('Summary', 'per node: what the sensors wrote, what reached the on-call receiver, what the cloud-only path shipped and found');
    const edgeAlerts = new Map<string, Set<number>>();
    for (const r of (await engine.query('SELECT _pipeline.node_id AS node, id FROM sensor_data.alerts')).rows) {
      const set = edgeAlerts.get(String(r.node)) ?? new Set<number>();
      set.add(Number(r.id));
      edgeAlerts.set(String(r.node), set);
    }
    let same = 0;
    let edgeTotal = 0;
    let cloudTotal = 0;
    const rows = run.plan.nodes.map((n) => {
      const w = run.written.get(n.nodeId);
      const c = run.central.nodes.get(n.nodeId);
      const e = edgeAlerts.get(n.nodeId) ?? new Set<number>();
      const ids = c?.detectedIds ?? [];
      same += ids.filter((id) => e.has(id)).length;
      edgeTotal += e.size;
      cloudTotal += ids.length;
      return [n.nodeId, n.city.name, w?.rowsWritten ?? 0, w?.invalid ?? 0, e.size, run.receiver.byNode.get(n.nodeId) ?? 0, c?.rows ?? 0, ids.length];
    });
    out.write(textTable(['node', 'city', 'rows written', 'bad rows', 'edge alerts', 'received', 'cloud raw rows', 'cloud alerts'], rows, '        '));
    out.write(`\n        On-call receiver: ${run.receiver.alerts} alerts (${run.receiver.duplicates} redeliveries ignored), event → received p50 ${fmtMs(run.receiver.p50Ms)}, p99 ${fmtMs(run.receiver.p99Ms)}\n`);
    out.write(`        Same anomalies: the edge raised ${edgeTotal}, the cloud-only central process found ${cloudTotal}, ${same} of them the very same readings (same kernels, same rules).\n`);

    say.step(`The five demo queries of the brief`, `$ edgelake query --lake ${lake}`);
    for (const q of knownQueries('demo')) out.write(indent(formatNamed(await engine.named(q), { maxRows: 12, maxCellWidth: 40 })) + '\n');

    say.step('Success metrics', `$ edgelake query --lake ${lake} --name metrics_success`);
    const m = await engine.named(queryByName('metrics_success'));
    out.write(
      textTable(
        ['#', 'metric', 'measured', 'target', 'result'],
        m.rows.map((r) => {
          const x = { measured: r.measured === null ? null : Number(r.measured), unit: String(r.unit), comparison: String(r.comparison), target: Number(r.target) };
          return [String(r.ordinal), String(r.metric), metricValue(x), metricTarget(x), String(r.status).toUpperCase()];
        }),
        '        ',
      ),
    );
    for (const r of m.rows) say.line(`${r.ordinal}. ${r.basis}`);
  } finally {
    engine.close();
  }
  const report = await buildDashboard({ location: { lake: run.lake }, out: join(run.dir, 'report.html'), title: 'edgelake demo' });
  say.step('Where to look next');
  say.line(`dashboard: ${say.path(report.path)} (one file, offline) · live while a demo runs: npx edgelake dashboard --serve --lake ${lake}`);
  say.line(`lake: ${lake} · cloud-only raw objects: ${say.path(run.cloudLake)} · every process's log: ${say.path(join(run.dir, 'nodes'))}/<node>/*.log`);
  say.line(`stage history of a node: npx edgelake pipeline history --db ${say.path(run.plan.nodes[0].db)}`);
  say.status(`demo finished in ${Math.round(say.elapsedS)} s`);
  return 0;
}

function fmtMs(ms: number | null): string {
  return ms === null ? '–' : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `      ${l}` : l))
    .join('\n');
}
