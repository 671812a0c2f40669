/**
 * The fleet at full size: N edge nodes (default 100), each its own `edgelake run` process with
 * its own sensor database, state and writer process, all uploading to one S3 server (s3rver on
 * loopback), with the test's mix of stages, stage switches, SIGKILLs and crash points
 * (test/checker/fleet.ts `standardPlan`). On 2 cores 100 node processes at once mostly measure
 * start-up contention, so nodes run in waves (default 25 at a time); every node is still its own
 * process, and every wave writes to the same server. Then the independent checker reads the
 * whole lake back through the S3 API and proves it (test/checker/).
 *
 * Run: node --import tsx bench/fleet.ts [nodes=100] [seconds=15] [wave=25] [rate=60]
 *   seconds: how long each wave's writers write at least; rate: rows/s per writer.
 * Prints rows/s over the fleet (rows landed ÷ time from a wave's first write to its last
 * checkpoint, summed over waves), objects and bytes in the lake, and the checker's verdict;
 * exits 1 when the checker or the processes report a problem. Uses build/ (npm run build) when present.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { S3RVER_CREDENTIALS, startS3Server } from '../test/helpers/s3server.ts';
import { checkFleet, readS3Lake } from '../test/checker/index.ts';
import { runFleet, standardPlan, withoutInterruptedPuts } from '../test/checker/fleet.ts';
import { s3Env } from '../test/checker/processes.ts';

const nodes = Number(process.argv[2] ?? 100);
const seconds = Number(process.argv[3] ?? 15);
const waveSize = Number(process.argv[4] ?? 25);
const rate = Number(process.argv[5] ?? 60);
for (const [name, v] of Object.entries({ nodes, seconds, wave: waveSize, rate })) {
  if (!(Number.isFinite(v) && v > 0)) throw new RangeError(`bench/fleet: ${name} must be a positive number, got ${v}`);
}

const BUCKETS = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'].map((s) => `expanso-databricks-${s}-us-west-2`);
const dir = mkdtempSync(join(tmpdir(), 'edgelake-fleet-bench-'));
const server = await startS3Server({ buckets: BUCKETS });
const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
let exitCode = 0;
try {
  const plans = standardPlan(nodes);
  const started = performance.now();
  const incidents: string[] = [];
  const landed: Array<{ nodeId: string; db: string }> = [];
  const killed = new Set<string>();
  let rows = 0;
  let activeMs = 0;
  let processes = 0;
  for (let w = 0; w * waveSize < nodes; w++) {
    const wave = plans.slice(w * waveSize, (w + 1) * waveSize);
    const r = await runFleet({
      plans: wave,
      dir,
      s3Endpoint: server.endpoint,
      s3EnvVars: s3Env(S3RVER_CREDENTIALS.accessKeyId, S3RVER_CREDENTIALS.secretAccessKey),
      writeMs: seconds * 1000,
      rate,
      catchUpMs: 180_000,
      log: (l) => console.log(`  wave ${w + 1}: ${l}`),
    });
    const waveRows = r.nodes.reduce((n, x) => n + x.rows, 0);
    const waveActive = r.timings.writing + r.timings.catchUp;
    rows += waveRows;
    activeMs += waveActive;
    processes += r.processes;
    incidents.push(...r.incidents);
    landed.push(...r.nodes.map((x) => ({ nodeId: x.nodeId, db: x.db })));
    for (const x of r.nodes) if (x.restarts > 0) killed.add(x.nodeId);
    console.log(
      `wave ${w + 1}: ${wave.length} nodes, ${fmt(waveRows)} rows, ${r.processes} processes (CLI: ${r.launcher.mode}); set-up ${s(r.timings.setup)}, ` +
        `runs up ${s(r.timings.startRuns)}, writing ${s(r.timings.writing)}, catch-up ${s(r.timings.catchUp)}, stop ${s(r.timings.stop)}, ` +
        `final --once ${s(r.timings.flush)} → ${fmt(waveRows / (waveActive / 1000))} rows/s; ${r.incidents.length} incidents`,
    );
  }
  const fleetMs = performance.now() - started;
  const t0 = performance.now();
  const read = await readS3Lake({ endpoint: server.endpoint, ...S3RVER_CREDENTIALS, bucketPrefix: 'expanso-', concurrency: 16 });
  const { lake, tolerated } = withoutInterruptedPuts(read, killed);
  const t1 = performance.now();
  const report = checkFleet({ lake, nodes: landed });
  const t2 = performance.now();
  const sum = (f: (n: (typeof report.nodes)[number]) => number) => report.nodes.reduce((a, n) => a + f(n), 0);
  console.log(
    `\nfleet: ${nodes} nodes in waves of ${waveSize}, ${processes} processes, ${fmt(rows)} rows in ${s(fleetMs)} ` +
      `(${fmt(rows / (activeMs / 1000))} rows/s over the fleet while writing and catching up; ${fmt(rows / (fleetMs / 1000))} rows/s end to end)`,
  );
  console.log(
    `lake: ${fmt(report.objects)} objects, ${(report.bytes / 1048576).toFixed(1)} MiB; rows by stage: ingestion ${fmt(sum((n) => n.perStage.ingestion))}, ` +
      `validated ${fmt(sum((n) => n.perStage.validated))}, enriched ${fmt(sum((n) => n.perStage.enriched))}, aggregated ${fmt(sum((n) => n.aggregatedRows))} ` +
      `(${fmt(sum((n) => n.windows))} windows, ${fmt(sum((n) => n.corrections))} corrections), ${fmt(sum((n) => n.alerts))} alerts`,
  );
  console.log(`checker: read ${s(t1 - t0)}, checked ${s(t2 - t1)}`);
  for (const line of tolerated) console.log(`tolerated (test server, not edgelake): ${line}`);
  if (incidents.length || report.problems.length) {
    exitCode = 1;
    console.log(`verdict: NOT PROVEN — ${incidents.length} process incidents, ${report.problems.length} checker problems`);
    for (const line of [...incidents, ...report.problems].slice(0, 60)) console.log(`  ${line}`);
  } else {
    console.log(`verdict: PROVEN — every row of every node exactly once, no key shared between nodes, every aggregated window equal to its recomputation`);
  }
} finally {
  await server.dispose();
  rmSync(dir, { recursive: true, force: true });
}
process.exitCode = exitCode;
