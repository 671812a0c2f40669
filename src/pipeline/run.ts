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
import { bucketName, type BucketStage } from '../sink/key.ts';
import { STOP_GRACE_MS, type Sink } from '../sink/types.ts';
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
}

const ALL_BUCKETS: BucketStage[] = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'];

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
  try {
    stateDb = options.stateDb ? openStateDb(options.stateDb) : db;
    const state = new StateStore(stateDb);
    const statePath = resolve(options.stateDb ?? options.db);
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
    sink = createSink({ lake: options.lake, s3Endpoint: options.s3Endpoint, region: options.region, createBuckets: options.createBuckets });
    const buckets = Object.fromEntries(ALL_BUCKETS.map((s) => [s, bucketName(options.bucketPrefix, s, options.region)])) as Record<BucketStage, string>;
    // A stop request finishes the batch in flight, but an S3 endpoint that accepts connections and
    // never answers would hold it for retries × request timeout: after a grace period the sink is
    // closed, the upload fails (S3_CLOSED), and the batch stays pending for the next run.
    const closing = sink;
    hooks.signal?.addEventListener('abort', () => setTimeout(() => void closing.close().catch(() => {}), STOP_GRACE_MS).unref(), { once: true });
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
    const runner = new Runner({ db, state, sink, env, buckets, log, hooks, readers });
    // Stage 5 inside the dataflow; not when reprocessing history (--from-id), which must not alert again.
    const withheld = new CoordinatePolicy({ fuzzing: null, keepOriginal: options.keepOriginalGps });
    const alerts =
      options.alerts && options.fromId === undefined
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
          })
        : null;
    runner.alerts = alerts;
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
    await sink?.close().catch(() => {});
    await readers?.close().catch(() => {});
    lock?.release();
    privateDb?.close();
    if (stateDb && stateDb !== db) stateDb.close();
    db.close();
  }
}
