import type Database from 'better-sqlite3';
import { resolve } from 'node:path';
import type { RunOptions } from '../config.ts';
import { loadKernels, type Kernels } from '../kernels/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { configuredNodeId, readNodeIdentity } from '../meta/identity.ts';
import { pipelineVersion } from '../meta/version.ts';
import { openSensorDb } from '../source/open.ts';
import { ReaderFactory } from '../source/pooled-reader.ts';
import { AlertThread } from '../alerts/thread.ts';
import { createSink } from '../sink/index.ts';
import { bucketName, type BucketStage } from '../sink/key.ts';
import { STOP_GRACE_MS, type Sink } from '../sink/types.ts';
import type { StageEnv } from '../stages/index.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { RunLock } from '../state/lock.ts';
import { describePin, pinNodeId } from '../state/node-id.ts';
import { StateStore } from '../state/store.ts';
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
}

const ALL_BUCKETS: BucketStage[] = ['ingestion', 'validated', 'enriched', 'aggregated', 'emergency', 'metrics'];

/**
 * `edgelake run`: opens the sensor database (read-only when the state lives elsewhere; its
 * journal mode is left as it is), takes the state's run lock (one run per state: contract §2),
 * pins the node id, and runs the loop of {@link Runner} with the alert router beside it.
 */
export async function runPipeline(options: RunOptions, hooks: RunHooks = {}): Promise<RunSummary> {
  const log = hooks.log ?? createLogger();
  const db = openSensorDb(options.db, { readonly: options.stateDb !== undefined });
  let stateDb: Database.Database | null = null;
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
    const env: StageEnv = { options, kernels: () => (kernels ??= loadKernels(options.kernels)), nodeId, identity, state, sourceFile: resolve(options.db), log };
    readers = new ReaderFactory({ db, path: resolve(options.db), threads: options.readThreads, impl: options.kernels });
    const runner = new Runner({ db, state, sink, env, buckets, log, hooks, readers });
    // Stage 5 runs beside the stage loop, on its own thread and connections, with its own cursor;
    // not when reprocessing history (--from-id), which must not alert again.
    const alerts = options.alerts && options.fromId === undefined ? await AlertThread.start({ options, nodeId, version: pipelineVersion(), buckets }, log) : null;
    try {
      return await runner.run();
    } finally {
      // After --once, detect up to the last row and try one last delivery before exiting.
      await alerts?.stop({ drain: options.once && !hooks.signal?.aborted });
    }
  } finally {
    await sink?.close().catch(() => {});
    await readers?.close().catch(() => {});
    lock?.release();
    if (stateDb && stateDb !== db) stateDb.close();
    db.close();
  }
}
