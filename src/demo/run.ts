import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CentralProcess } from '../cloud/central.ts';
import { describeCloudBaseline, type CloudBaseline } from '../cloud/options.ts';
import { PipelineError } from '../errors.ts';
import { loadKernels } from '../kernels/load.ts';
import { createLogger } from '../log.ts';
import { pipelineVersion } from '../meta/version.ts';
import { simulate, type SimulateSummary } from '../simulate/index.ts';
import { LakeSink } from '../sink/lake.ts';
import { bucketName } from '../sink/key.ts';
import { FolderRecordSource } from '../source/lake-records.ts';
import { FleetProcesses } from './fleet.ts';
import { identityCarriesHardware, identityOf, planFleet, type FleetPlan } from './plan.ts';
import { landedUpTo } from './processes.ts';
import { AlertReceiver, percentile } from './receiver.ts';
import { Presenter, STAGE_STORY, textTable } from './script.ts';
import { demoWindowMs, durationArg, stageSchedule } from './timeline.ts';

/**
 * The demo of the brief, live: a fleet of simulated edge nodes, each writing sensor readings into
 * its own database while a real `edgelake run` follows it into one shared lake; the presenter
 * switches every node through the four stages during the run; alerts go to a local webhook
 * receiver; beside it, the measured cloud-only baseline ships the same rows raw and detects the
 * same anomalies centrally. Everything it does is printed as a presenter's script.
 */

/** Options of {@link runDemo}. */
export interface DemoOptions {
  /** Working folder (made if missing); the demo replaces only what it writes there. */
  readonly dir: string;
  /** Edge nodes, ≥ 1 (the brief's fleet: 5). */
  readonly nodes: number;
  /** How long the sensors write live, ms. */
  readonly durationMs: number;
  readonly baseline: CloudBaseline;
  /** Share of bad rows each sensor writes. */
  readonly invalidRate: number;
  /** Share of anomalous rows. */
  readonly anomalyRate: number;
  readonly seed: number;
  readonly out: NodeJS.WritableStream;
  /** Aborting stops the fleet cleanly and rejects. */
  readonly signal?: AbortSignal;
}

/** Where the demo put things and what the live part did. */
export interface DemoRun {
  readonly dir: string;
  readonly lake: string;
  readonly cloudLake: string;
  readonly plan: FleetPlan;
  readonly written: ReadonlyMap<string, SimulateSummary>;
  readonly receiver: { readonly alerts: number; readonly duplicates: number; readonly p50Ms: number | null; readonly p99Ms: number | null; readonly byNode: ReadonlyMap<string, number> };
  readonly central: CentralProcess;
  readonly windowMs: number;
  readonly presenter: Presenter;
}

/** Folders and files of a previous run that a new run replaces (nothing else in `dir` is touched). */
const OWNED = ['lake', 'cloud-lake', 'nodes', 'report.html'];

/** Runs the live part of the demo and returns what it produced (the caller prints the results). */
export async function runDemo(o: DemoOptions): Promise<DemoRun> {
  const dir = resolve(o.dir);
  const lake = join(dir, 'lake');
  const cloudLake = join(dir, 'cloud-lake');
  for (const p of OWNED) rmSync(join(dir, p), { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const say = new Presenter(o.out);
  const plan = planFleet({ nodes: o.nodes, dir, seed: o.seed });
  const windowMs = demoWindowMs(o.durationMs);
  const schedule = stageSchedule(o.durationMs);

  say.text(`edgelake demo: ${plan.nodes.length} edge nodes, sensors writing live for ${durationArg(o.durationMs)}, the four stages switched during the run, beside a measured cloud-only baseline`);
  say.step('The fleet', `each node: its own sensor database, identity file and Bacalhau daemon execution; sensors placed within 5 km of the node`);
  for (const n of plan.nodes) {
    mkdirSync(n.dir, { recursive: true, mode: 0o700 });
    writeFileSync(n.identityFile, JSON.stringify(identityOf(n), null, 2) + '\n', { mode: 0o600 });
  }
  say.text(
    textTable(
      ['node', 'city', 'country', 'region', 'datacenter', 'type', 'cpu', 'mem GB', 'gpu', 'sensors', 'rows/s'],
      plan.nodes.map((n) => [n.nodeId, n.city.name, n.city.country, n.region, n.datacenter, n.nodeType, n.cpuCores, n.memoryGb, n.gpuCount, n.sensors, n.rate]),
      '        ',
    ),
  );
  if (!identityCarriesHardware()) say.line('(this build\'s identity schema has no hardware keys: node snapshots report the host\'s own cpu, memory and gpu)');
  say.line(`Bacalhau jobs: ${plan.jobs.edge.name} ${plan.jobs.edge.jobId} (daemon, one execution per node), ${plan.jobs.uploader.name} ${plan.jobs.uploader.jobId} (daemon), ${plan.jobs.once.name} ${plan.jobs.once.jobId} (ops)`);

  const receiver = await AlertReceiver.start();
  const central = new CentralProcess({
    source: new FolderRecordSource(cloudLake),
    rawBucket: bucketName('expanso', 'ingestion', 'us-west-2'),
    sink: new LakeSink({ dir: lake }),
    metricsBucket: bucketName('expanso', 'metrics', 'us-west-2'),
    baseline: o.baseline,
    kernels: await loadKernels(o.baseline.kernels),
    version: `${pipelineVersion()} cloud-baseline`,
    log: createLogger(),
  });
  const fleet = new FleetProcesses(plan, {
    lake,
    cloudLake,
    webhook: (id) => receiver.urlFor(id),
    window: durationArg(windowMs),
    lateness: '2s',
    uploadInterval: durationArg(o.baseline.uploadIntervalMs),
  });
  const abort = () => void fleet.stopAll();
  o.signal?.addEventListener('abort', abort, { once: true });
  const written = new Map<string, SimulateSummary>();
  try {
    say.step('Sensor databases and the first stage', STAGE_STORY.ingestion.point);
    for (const n of plan.nodes) await simulate({ db: n.db, rows: 0, sensors: n.sensors, seed: n.seed, cities: [n.city.code] });
    say.command(['pipeline', 'set', '--type', 'ingestion', '--by', 'presenter', '--db', plan.nodes[0].db], `(and on the ${plan.nodes.length - 1} other nodes)`);
    await fleet.setStage('ingestion');

    say.step('Start the edge pipeline on every node', `the ${plan.jobs.edge.name} daemon job: edgelake run follows the node's database; alerts POSTed to ${receiver.urlFor('NODE').replace('NODE', '<node id>')}`);
    say.command(fleet.edgeArgs(plan.nodes[0]));
    say.line(`aggregation windows of ${durationArg(windowMs)} (production: 5 min) so that windows close inside the demo`);
    say.step('Start the cloud-only baseline beside it', 'what a central pipeline does instead: ship every raw row on its cadence, process in the cloud');
    say.command(fleet.uploaderArgs(plan.nodes[0]));
    for (const p of describeCloudBaseline(o.baseline)) say.line(`${p.label.padEnd(38)} ${p.value}`);
    await fleet.start();
    await central.start();

    say.step('Sensors write live', `${plan.nodes.reduce((s, n) => s + n.rate, 0)} readings/s over the fleet, ${(o.invalidRate * 100).toFixed(1)} % of them bad rows, ${(o.anomalyRate * 100).toFixed(0)} % anomalous`);
    const writers = plan.nodes.map((n) =>
      simulate({ db: n.db, rate: n.rate, durationMs: o.durationMs, sensors: n.sensors, seed: n.seed, cities: [n.city.code], invalidRate: o.invalidRate, anomalyRate: o.anomalyRate, signal: o.signal }).then((s) => {
        written.set(n.nodeId, s);
        return s;
      }),
    );
    const t0 = Date.now();
    for (const sw of schedule.slice(1)) {
      await sleep(Math.max(0, t0 + sw.atMs - Date.now()), undefined, { signal: o.signal });
      status(say, plan, receiver, central);
      const story = STAGE_STORY[sw.type];
      say.step(story.title, story.point);
      say.command(['pipeline', 'set', '--type', sw.type, '--by', 'presenter', '--db', plan.nodes[0].db], `(and on the ${plan.nodes.length - 1} other nodes)`);
      await fleet.setStage(sw.type);
    }
    await Promise.all(writers);
    if (o.signal?.aborted) throw new Error('interrupted');
    status(say, plan, receiver, central);
    const lastIds = new Map([...written].map(([id, s]) => [id, s.lastId]));

    say.step('Sensors stop; the edge lands its last rows, the cloud path waits for its next upload and trigger');
    const edge = (async () => {
      const behind = await fleet.waitLanded('edge', lastIds, 30_000);
      if (behind.length) say.status(`edge followers still behind after 30 s: ${behind.join(', ')} (the catch-up job takes the rest)`);
      await fleet.stop('edge');
      say.status('edge followers stopped (SIGTERM, as Bacalhau stops a daemon job); catch-up job to emit the windows still open:');
      say.command([...fleet.edgeArgs(plan.nodes[0]), '--once'], `(the ${plan.jobs.once.name} ops job, on every node)`);
      await fleet.catchUp();
    })();
    const cloud = (async () => {
      const budget = 2 * o.baseline.uploadIntervalMs + 30_000;
      const behind = await fleet.waitLanded('uploader', lastIds, budget);
      if (behind.length) throw new PipelineError('DEMO_FAILED', `the cloud uploaders of ${behind.join(', ')} did not ship every row within ${budget / 1000} s`);
      await fleet.stop('uploader');
      const deadline = Date.now() + 2 * o.baseline.triggerIntervalMs + 30_000;
      while (plan.nodes.some((n) => (central.nodes.get(n.nodeId)?.lastId ?? 0) < lastIds.get(n.nodeId)!)) {
        if (Date.now() > deadline) throw new PipelineError('DEMO_FAILED', 'the central process did not take every raw object in time');
        await sleep(100);
      }
      await central.stop();
      say.status(`cloud path done: every raw row landed and processed by the central trigger (${central.triggers} triggers)`);
    })();
    await Promise.all([edge, cloud]);
    if (fleet.incidents.length) throw new PipelineError('DEMO_FAILED', `processes of the fleet failed:\n${fleet.incidents.join('\n')}`);
  } catch (err) {
    if (o.signal?.aborted) throw new PipelineError('DEMO_INTERRUPTED', `the demo was interrupted; its processes were stopped, and what it wrote so far is in ${dir}`, { cause: err });
    throw err;
  } finally {
    o.signal?.removeEventListener('abort', abort);
    await fleet.stopAll();
    await central.stop();
    await receiver.close();
  }
  const received = receiver.alerts;
  const lat = received.filter((a) => Number.isFinite(a.eventMs) && a.receivedMs >= a.eventMs).map((a) => a.receivedMs - a.eventMs);
  const byNode = new Map<string, number>();
  for (const a of received) byNode.set(a.node, (byNode.get(a.node) ?? 0) + 1);
  return {
    dir,
    lake,
    cloudLake,
    plan,
    written,
    receiver: { alerts: received.length, duplicates: receiver.stats.duplicates, p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99), byNode },
    central,
    windowMs,
    presenter: say,
  };
}

/** One status line: rows written, landed at the edge, alerts received, raw rows taken by the central process. */
function status(say: Presenter, plan: FleetPlan, receiver: AlertReceiver, central: CentralProcess): void {
  let landed = 0;
  for (const n of plan.nodes) landed += landedUpTo(n.db);
  let cloudRows = 0;
  let detected = 0;
  for (const p of central.nodes.values()) {
    cloudRows += p.rows;
    detected += p.detections;
  }
  say.status(`edge: ${landed.toLocaleString('en-US')} rows landed, ${receiver.stats.alerts} alerts received · cloud: ${cloudRows.toLocaleString('en-US')} raw rows processed centrally, ${detected} anomalies detected`);
}

