import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import type { RunOptions } from '../config.ts';
import { loadKernels, type Kernels } from '../kernels/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { configuredNodeId, readNodeIdentity } from '../meta/identity.ts';
import { pipelineVersion } from '../meta/version.ts';
import { openSensorDb } from '../source/open.ts';
import { ReaderFactory } from '../source/pooled-reader.ts';
import { AlertPath, type AlertStats } from '../alerts/path.ts';
import { resolveFuzzKey } from '../meta/fuzz-key.ts';
import { CoordinatePolicy } from '../privacy/coordinates.ts';
import { createSink } from '../sink/index.ts';
import { bucketNames, type BucketStage } from '../sink/key.ts';
import type { Sink } from '../sink/types.ts';
import { formatAddress } from '../ops/addr.ts';
import { LagProbe } from '../ops/lag.ts';
import { RunMetrics } from '../ops/metrics.ts';
import { startOpsServer, type OpsServer } from '../ops/server.ts';
import type { StageEnv } from '../stages/index.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { RunLock } from '../state/lock.ts';
import { describePin, pinNodeId } from '../state/node-id.ts';
import { openPrivateDb, privatePathOf, PrivateSettings } from '../state/private.ts';
import { BEFORE_FIRST_ID, StateStore } from '../state/store.ts';
import { openStateDb } from '../state/open.ts';
import { Runner } from './runner.ts';

/** Hooks for callers of {@link runPipeline} (the CLI, tests, benchmarks). */
export interface RunHooks {
  /** Aborting finishes the batch in flight, then resolves. */
  readonly signal?: AbortSignal;
  readonly log?: Logger;
  /** Called after every committed batch. */
  readonly onBatch?: (b: BatchReport) => void;
  /** The run's metrics and status (the CLI keeps it to name the checkpoint on a forced stop); the run makes its own when absent. */
  readonly metrics?: RunMetrics;
}

/** One committed batch. */
export interface BatchReport {
  readonly type: PipelineType;
  readonly batchId: string;
  readonly firstId: number;
  readonly lastId: number;
  readonly records: number;
  readonly objects: number;
  readonly bytes: number;
  /** Records the stage wrote for the batch's rows. */
  readonly recordsOut: number;
  /** Read → committed, ms. */
  readonly durationMs: number;
}

/** What a run did. */
export interface RunSummary {
  readonly batches: number;
  readonly rows: number;
  readonly objects: number;
  readonly bytes: number;
  readonly lastId: number;
  readonly elapsedMs: number;
  readonly rowsPerSecond: number;
  readonly nodeId: string;
  readonly destination: string;
  /** What the alert path did (null with --no-alerts or when reprocessing with --from-id). */
  readonly alerts: AlertStats | null;
  /** Worker threads this run started: 0 when every batch ran on the main thread (a small `--once` backlog, `--read-threads 0`). */
  readonly workerThreads: number;
}

/**
 * `edgelake run`: opens the sensor database (read-only when the state lives elsewhere; its
 * journal mode is left as it is), takes the state's run lock (one run per state: contract §2),
 * pins the node id, opens edgelake's private file (fuzzing key, alert outbox), and runs the loop
 * of {@link Runner} with the alert path inside its dataflow. The summary covers the whole
 * command, the alert drain included.
 */
export async function runPipeline(options: RunOptions, hooks: RunHooks = {}): Promise<RunSummary> {
  const started = performance.now();
  const log = hooks.log ?? createLogger();
  const db = openSensorDb(options.db, { readonly: options.stateDb !== undefined });
  let stateDb: Database.Database | null = null;
  let privateDb: Database.Database | null = null;
  let lock: RunLock | null = null;
  let sink: Sink | null = null;
  let readers: ReaderFactory | null = null;
  let server: OpsServer | null = null;
  let alerts: AlertPath | null = null;
  let finished = false;
  try {
    stateDb = options.stateDb ? openStateDb(options.stateDb) : db;
    const state = new StateStore(stateDb);
    const statePath = resolve(options.stateDb ?? options.db);
    const metrics = hooks.metrics ?? new RunMetrics();
    // Before the lock: a bad destination (AWS_ENDPOINT_URL_S3, --lake with --s3-endpoint) is named
    // as such even while another run holds the state. Creating a sink does no I/O.
    sink = createSink({ lake: options.lake, s3Endpoint: options.s3Endpoint, region: options.region, createBuckets: options.createBuckets, observer: metrics });
    lock = await RunLock.acquire({
      statePath,
      holders: state,
      waitMs: options.waitLock,
      signal: hooks.signal,
      command: options.once ? 'run --once' : 'run',
      onWait: (h) => log.info(`another run holds the state ${statePath}${h ? ` (pid ${h.pid} on host ${h.host} since ${h.since})` : ''}; waiting up to ${Math.round(options.waitLock / 1000)} s for it (--wait-lock)`),
    });
    const identity = options.nodeIdentity ? readNodeIdentity(options.nodeIdentity) : null;
    const pin = pinNodeId({ store: state, configured: configuredNodeId({ override: options.nodeId, identity }), rekey: options.rekeyNode });
    const said = describePin(pin);
    if (said) log.warn(said);
    const nodeId = pin.nodeId;
    let kernels: Promise<Kernels> | null = null;
    const buckets = bucketNames(options.bucketPrefix, options.region);
    // A stop request finishes the batch in flight and lets the alert deliveries end, but an S3
    // endpoint or a receiver that accepts connections and never answers would hold them for
    // retries × timeouts: after --stop-grace the sink is closed (the upload fails with S3_CLOSED and
    // its batch stays pending) and webhook POSTs in flight are abandoned (their alerts stay queued).
    const closing = sink;
    hooks.signal?.addEventListener(
      'abort',
      () =>
        setTimeout(() => {
          if (finished) return;
          log.warn(`the stop grace (--stop-grace ${options.stopGrace / 1000} s) is over: abandoning the uploads and alert deliveries still in flight; their batch stays pending and their alerts queued for the next run, nothing is lost`);
          void closing.close().catch(() => {});
          alerts?.abandon();
        }, options.stopGrace).unref(),
      { once: true },
    );
    privateDb = openPrivateDb(resolve(options.privateDb ?? privatePathOf(statePath)), stateDb, options.alertWebhook);
    const settings = new PrivateSettings(privateDb);
    const loadedKernels = () => (kernels ??= loadKernels(options.kernels));
    let fuzzing: Promise<CoordinatePolicy> | null = null;
    const fuzzingPolicy = () =>
      (fuzzing ??= loadedKernels().then((k) => {
        const fuzz = resolveFuzzKey({ store: settings, file: options.fuzzKeyFile });
        // Only where the key came from: the key itself is never logged.
        if (fuzz.source === 'generated') log.info("generated a GPS fuzzing key and stored it in edgelake's private file (mode 0600)");
        return new CoordinatePolicy({ fuzzing: { kernels: k, key: fuzz.key, radiusKm: options.fuzzRadiusKm }, keepOriginal: options.keepOriginalGps });
      }));
    const env: StageEnv = { options, kernels: loadedKernels, nodeId, identity, state, sourceFile: resolve(options.db), fuzzing: fuzzingPolicy, log };
    readers = new ReaderFactory({ db, path: resolve(options.db), threads: options.readThreads, impl: options.kernels });
    const runner = new Runner({ db, state, sink, env, buckets, log, hooks: { ...hooks, metrics }, readers });
    // A --once drain that will use workers starts them now, while the rest is set up.
    if (options.once) runner.prewarmWorkers();
    const withAlerts = options.alerts && options.fromId === undefined;
    let lag: LagProbe | null = null;
    metrics.identify(
      { nodeId, sink: sink.kind, buckets, version: pipelineVersion(), alerts: withAlerts },
      {
        checkpoint: () => state.checkpoint(runner.cursor)?.lastId ?? BEFORE_FIRST_ID,
        lag: (checkpointId) => (lag ??= new LagProbe(db)).measure(checkpointId),
        activeType: () => options.type ?? state.activeType(),
      },
    );
    if (options.metricsAddr) {
      server = await startOpsServer({ address: options.metricsAddr, metrics });
      // Host and port only: the logger names URLs by their redacted form.
      log.info(`serving metrics on ${formatAddress(server.address)}: GET /metrics (Prometheus), GET /healthz${options.metricsAddr.port === 0 ? ' (port chosen by the system for --metrics-addr port 0)' : ''}`);
    }
    // Stage 5 inside the dataflow; not when reprocessing history (--from-id), which must not alert again.
    const withheld = new CoordinatePolicy({ fuzzing: null, keepOriginal: options.keepOriginalGps });
    alerts = withAlerts
      ? await AlertPath.open({
          db,
          privateDb,
          options,
          sink,
          buckets,
          nodeId,
          keyNode: () => runner.keyNode,
          version: pipelineVersion(),
          kernels: loadedKernels,
          policyFor: (type) => (type === 'enriched' ? fuzzingPolicy() : Promise.resolve(withheld)),
          activeType: () => options.type ?? state.activeType(),
          startId: state.checkpoint('live')?.lastId ?? BEFORE_FIRST_ID,
          log,
          metrics,
          // Alerted rows of a stage that reads few columns (aggregated) are looked up and encoded in a worker.
          // Only with workers at hand: a small run never starts them for this.
          recordsInWorker: () => (readers!.workersAtHand() ? (task) => readers!.pool().then((pool) => pool.alertRecords({ ...readers!.source, ...task })) : null),
        })
      : null;
    runner.alerts = alerts;
    // A follower starts its worker threads (modules, kernels) before it takes its state: else the
    // first batch starts them while the first alerts wait on two busy cores (≈ 0.4 s of alert
    // latency at start-up, measured by bench/alert-latency.bench.ts). --once starts them on demand.
    if (!options.once) await runner.warmWorkers();
    let summary: RunSummary;
    try {
      summary = await runner.run();
    } catch (err) {
      await alerts?.stop({ drain: false }).catch(() => {});
      throw err;
    }
    // After --once, every queued alert goes to the emergency bucket and each receiver gets a last attempt.
    const stats = (await alerts?.stop({ drain: options.once && !hooks.signal?.aborted })) ?? null;
    const elapsedMs = performance.now() - started;
    return { ...summary, alerts: stats, elapsedMs, rowsPerSecond: summary.rows / Math.max(elapsedMs / 1000, 1e-9) };
  } finally {
    finished = true;
    await server?.close().catch(() => {});
    await sink?.close().catch(() => {});
    await readers?.close().catch(() => {});
    lock?.release();
    privateDb?.close();
    if (stateDb && stateDb !== db) stateDb.close();
    db.close();
  }
}
