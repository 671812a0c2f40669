import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { simulate } from '../src/simulate/index.ts';
import { tempDir } from './helpers/tmp.ts';
import { S3RVER_CREDENTIALS, startS3Server } from './helpers/s3server.ts';
import { checkFleet, readLakeFolder, readS3Lake, type CheckReport } from './checker/index.ts';
import { runFleet, standardPlan, withoutInterruptedPuts, type FleetStage } from './checker/fleet.ts';
import { edgelakeLauncher, s3Env, spawnNode } from './checker/processes.ts';

/** The contract's buckets with the default prefix and region, created before the nodes start (no --create-buckets race). */
const BUCKETS = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'].map((s) => `expanso-databricks-${s}-us-west-2`);

/** One line per node: what the checker found where. */
function figures(report: CheckReport): string {
  return report.nodes
    .map((n) => `${n.nodeId}: ${n.sourceRows} rows = ing ${n.perStage.ingestion} + val ${n.perStage.validated} + enr ${n.perStage.enriched} + agg ${n.aggregatedRows} (${n.windows} windows, ${n.corrections} corrections), ${n.alerts} alerts, ${n.objects} objects`)
    .join('\n');
}

test(
  'a fleet of 10 nodes on one S3 server, with stage switches, SIGKILLs and a crash between upload and checkpoint, lands every row exactly once and every aggregated window equal to its recomputation',
  { timeout: 150_000 },
  async (t) => {
    const dir = tempDir(t, 'edgelake-fleet-');
    const server = await startS3Server({ buckets: BUCKETS });
    t.after(() => server.dispose());
    const lines: string[] = [];
    const t0 = performance.now();
    const run = await runFleet({
      plans: standardPlan(10),
      dir,
      s3Endpoint: server.endpoint,
      s3EnvVars: s3Env(S3RVER_CREDENTIALS.accessKeyId, S3RVER_CREDENTIALS.secretAccessKey),
      writeMs: 6_000,
      rate: 100,
      log: (l) => lines.push(l),
    });
    const tRun = performance.now();
    const read = await readS3Lake({ endpoint: server.endpoint, ...S3RVER_CREDENTIALS, bucketPrefix: 'expanso-' });
    const { lake, tolerated } = withoutInterruptedPuts(read, new Set(run.nodes.filter((n) => n.restarts > 0).map((n) => n.nodeId)));
    const tRead = performance.now();
    const report = checkFleet({ lake, nodes: run.nodes.map((n) => ({ nodeId: n.nodeId, db: n.db })) });
    const tCheck = performance.now();
    const ms = (x: number) => `${(x / 1000).toFixed(1)} s`;
    t.diagnostic(
      [
        ...lines,
        `${run.processes} processes; set-up ${ms(run.timings.setup)}, runs up ${ms(run.timings.startRuns)}, writing ${ms(run.timings.writing)}, catch-up ${ms(run.timings.catchUp)}, ` +
          `stop ${ms(run.timings.stop)}, final --once ${ms(run.timings.flush)}; fleet ${ms(tRun - t0)}; ` +
          `checker: ${report.objects} objects read in ${ms(tRead - tRun)}, checked in ${ms(tCheck - tRead)}`,
        figures(report),
        ...tolerated,
      ].join('\n'),
    );
    assert.deepEqual(run.incidents, [], `process incidents:\n${run.incidents.join('\n')}`);
    assert.deepEqual(report.problems, [], `checker problems:\n${report.problems.join('\n')}`);

    // The scenario exercised what it claims: every stage holds rows, windows were restated, nodes restarted.
    const total = (f: (n: CheckReport['nodes'][number]) => number) => report.nodes.reduce((s, n) => s + f(n), 0);
    assert.ok(total((n) => n.perStage.ingestion) > 0 && total((n) => n.perStage.validated) > 0 && total((n) => n.perStage.enriched) > 0);
    assert.ok(total((n) => n.aggregatedRows) > 0 && total((n) => n.windows) > 0, 'aggregated windows were written');
    assert.ok(total((n) => n.corrections) > 0, 'late rows produced corrections');
    assert.ok(run.nodes.filter((n) => n.restarts > 0).length >= 3, 'the SIGKILLed and crashed nodes recovered by running again');
    assert.ok(run.nodes.every((n) => n.rows > 300), `every writer wrote: ${run.nodes.map((n) => n.rows).join(', ')}`);
    const plans = standardPlan(10);
    for (const n of report.nodes) {
      const used = [n.perStage.ingestion, n.perStage.validated, n.perStage.enriched, n.aggregatedRows].filter((x) => x > 0).length;
      const plan = plans.find((p) => p.id === n.nodeId)!;
      assert.equal(used > 1, Boolean(plan.switches?.length), `${n.nodeId} switched stage mid-run: rows before and after the switch (${figures({ ...report, nodes: [n] })})`);
    }
  },
);

/** `edgelake <args>` through the same launcher as the fleet, to completion. */
async function cli(args: string[]): Promise<void> {
  const p = spawnNode(`edgelake ${args[0]}`, [...edgelakeLauncher().argv, ...args]);
  const r = await p.exited;
  assert.equal(r.code, 0, `edgelake ${args.join(' ')}: ${r.signal ?? `exit ${r.code}`}\n${r.stderr}`);
}

// When the type leaves aggregated, the runner flushes the open windows and parks the stage's
// state (which windows were emitted) with the checkpoint; back on aggregated, rows of an already
// emitted window restate it as a correction. Found by the fleet checker: before the fix the
// window was emitted a second time with only the new rows.
test(
  'switching away from aggregated and back restates an already emitted window as a correction instead of emitting it a second time',
  async (t) => {
    const dir = tempDir(t, 'edgelake-switchback-');
    const db = join(dir, 'sensor_data.db');
    const lake = join(dir, 'lake');
    // Three batches of rows whose event times share the same 5-minute windows (each backfill ends now);
    // `--type` switches the live cursor's stage for one run, as `pipeline set` does between runs.
    const steps: FleetStage[] = ['aggregated', 'ingestion', 'aggregated'];
    for (const [i, type] of steps.entries()) {
      await simulate({ db, rows: 400, sensors: 3, spanMs: 120_000, seed: 1 });
      await cli(['run', '--once', '--type', type, '--db', db, '--lake', lake, '--node-id', 'edge-sb', '--no-progress', '--no-alerts']);
    }
    const report = checkFleet({ lake: await readLakeFolder(lake), nodes: [{ nodeId: 'edge-sb', db }] });
    assert.deepEqual(report.problems, [], `checker problems:\n${report.problems.join('\n')}`);
  },
);

/** Every `.jsonl.gz` file under `dir/bucket` (relative to `dir`), sorted. */
function objectFiles(dir: string, bucket: string): string[] {
  return (readdirSync(join(dir, bucket), { recursive: true }) as string[])
    .filter((f) => f.endsWith('.jsonl.gz'))
    .map((f) => join(bucket, f))
    .sort();
}

/** Rewrites the records of one lake file through `edit`. */
function editObject(file: string, edit: (records: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): void {
  const records = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  writeFileSync(file, gzipSync(edit(records).map((r) => JSON.stringify(r)).join('\n') + '\n'));
}

test('the checker is not vacuous: a lost object, a duplicated row, a changed window and an object under another node are each reported', async (t) => {
  const dir = tempDir(t, 'edgelake-checker-');
  const db = join(dir, 'a.db');
  const other = join(dir, 'b.db');
  const lake = join(dir, 'lake');
  // Half the rows through ingestion, half through aggregated (20 minutes of event time: closed windows).
  await simulate({ db, rows: 1500, sensors: 4, spanMs: 1_200_000, seed: 5 });
  await cli(['run', '--once', '--type', 'ingestion', '--batch-size', '500', '--db', db, '--lake', lake, '--node-id', 'edge-a', '--no-progress', '--no-alerts']);
  await simulate({ db, rows: 1500, sensors: 4, spanMs: 1_200_000, seed: 5 });
  await cli(['run', '--once', '--type', 'aggregated', '--batch-size', '500', '--db', db, '--lake', lake, '--node-id', 'edge-a', '--no-progress', '--no-alerts']);
  await simulate({ db: other, rows: 0 });
  const nodes = [{ nodeId: 'edge-a', db }, { nodeId: 'edge-b', db: other }];
  const check = async (lakeDir: string) => checkFleet({ lake: await readLakeFolder(lakeDir), nodes }).problems;
  assert.deepEqual(await check(lake), [], 'the untouched lake is proven');

  // Rows missing from a per-row stage count as aggregated's: a window misses them or none exists.
  const LOST = /edge-a: .*(differs from the recomputation: record_count|are in no per-row stage and in no aggregated window)/;
  const ING = 'expanso-databricks-ingestion-us-west-2';
  const AGG = 'expanso-databricks-aggregated-us-west-2';
  const cases: Array<{ name: string; tamper: (copy: string) => void; expect: RegExp[] }> = [
    { name: 'an ingestion object deleted', tamper: (c) => rmSync(join(c, objectFiles(c, ING)[0])), expect: [LOST, /pipeline_metrics count 1500 rows in ingestion batches, the lake holds \d+/] },
    {
      name: 'a row copied into a second object',
      tamper: (c) => {
        const [a, b] = objectFiles(c, ING);
        const row = JSON.parse(gunzipSync(readFileSync(join(c, a))).toString('utf8').split('\n')[0]) as Record<string, unknown>;
        editObject(join(c, b), (rs) => [...rs, row]);
      },
      expect: [/row 1 is in the lake 2 times/, /key says ids .* records hold/],
    },
    {
      name: 'a window average changed',
      tamper: (c) => editObject(join(c, objectFiles(c, AGG)[0]), (rs) => rs.map((r, i) => (i === 0 ? { ...r, temperature_avg: (r.temperature_avg as number) + 0.01 } : r))),
      expect: [/differs from the recomputation: temperature_avg/],
    },
    {
      name: 'an object moved under another node',
      tamper: (c) => {
        const f = objectFiles(c, ING)[0];
        renameSync(join(c, f), join(c, f.replace('edge-a_', 'edge-b_')));
      },
      expect: [/edge-b: .*a record says node "edge-a", the key says edge-b/, /edge-b: row \d+ .* is not in the source database/, LOST],
    },
  ];
  for (const c of cases) {
    const copy = join(dir, `lake-${cases.indexOf(c)}`);
    cpSync(lake, copy, { recursive: true });
    c.tamper(copy);
    const problems = await check(copy);
    for (const re of c.expect) assert.ok(problems.some((p) => re.test(p)), `${c.name}: expected a problem matching ${re}, got:\n${problems.join('\n')}`);
  }
});
