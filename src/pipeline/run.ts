import type Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunOptions } from '../config.ts';
import { PipelineError, messageOf } from '../errors.ts';
import { crashPoint } from '../faults.ts';
import { loadKernels, type Kernels } from '../kernels/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { readNodeIdentity, resolveNodeId } from '../meta/identity.ts';
import { pipelineVersion } from '../meta/version.ts';
import { openSensorDb, sourceAnchor } from '../source/open.ts';
import { ReaderFactory, type BatchReader } from '../source/pooled-reader.ts';
import { AlertThread } from '../alerts/thread.ts';
import { createSink } from '../sink/index.ts';
import { bucketName, type BucketStage } from '../sink/key.ts';
import { STOP_GRACE_MS, type Sink } from '../sink/types.ts';
import { createStage, type StageEnv } from '../stages/index.ts';
import type { BatchContext, Stage, StageOutput } from '../stages/types.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { StateStore, type PendingBatch } from '../state/store.ts';
import { openStateDb } from '../state/open.ts';
import { bytesOf, latencySummary, metricsObjects } from './metrics.ts';
import { Progress } from './progress.ts';

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
 * The run loop: read the next batch after the checkpoint, process it with the active stage,
 * write its objects, then commit checkpoint + execution in one transaction.
 *
 * Exactly once: the batch's id range is recorded as pending before any upload, and a run that
 * finds a pending batch replays exactly it (same rows, same type, same start time), so its
 * objects land on the same keys. The checkpoint moves only after every object is durable.
 */
export async function runPipeline(options: RunOptions, hooks: RunHooks = {}): Promise<RunSummary> {
  const log = hooks.log ?? createLogger();
  const db = openSensorDb(options.db);
  const stateDb = options.stateDb ? openStateDb(options.stateDb) : db;
  let sink: Sink | null = null;
  let readers: ReaderFactory | null = null;
  try {
    const state = new StateStore(stateDb);
    const identity = options.nodeIdentity ? readNodeIdentity(options.nodeIdentity) : null;
    const nodeId = resolveNodeId({ override: options.nodeId, identity });
    let kernels: Promise<Kernels> | null = null;
    sink = createSink({ lake: options.lake, s3Endpoint: options.s3Endpoint, region: options.region, createBuckets: options.createBuckets });
    const buckets = Object.fromEntries(ALL_BUCKETS.map((s) => [s, bucketName(options.bucketPrefix, s, options.region)])) as Record<
      BucketStage,
      string
    >;
    // A stop request finishes the batch in flight, but an S3 endpoint that accepts connections and
    // never answers would hold it for retries × request timeout: after a grace period the sink is
    // closed, the upload fails (S3_CLOSED), and the batch stays pending for the next run.
    const closing = sink;
    hooks.signal?.addEventListener('abort', () => setTimeout(() => void closing.close().catch(() => {}), STOP_GRACE_MS).unref(), { once: true });
    await sink.prepare(Object.values(buckets));
    const env: StageEnv = { options, kernels: () => (kernels ??= loadKernels(options.kernels)), nodeId, identity, state, sourceFile: resolve(options.db), log };
    readers = new ReaderFactory({ db, path: resolve(options.db), threads: options.readThreads, impl: options.kernels });
    const runner = new Runner(db, state, sink, env, buckets, log, hooks, readers);
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
    if (stateDb !== db) stateDb.close();
    db.close();
  }
}

/**
 * Stage state as stored with the checkpoint: the active stateful stage and its text, plus the
 * states `parked` by stateful stages the operator switched away from (after their flush: which
 * windows were already emitted), so that switching back turns late rows into corrections
 * instead of emitting a window a second time.
 */
interface StoredStageState {
  type: PipelineType | null;
  state: string | null;
  parked?: Partial<Record<PipelineType, string>>;
}

type Parked = Partial<Record<PipelineType, string>>;

function parseStored(text: string | null): StoredStageState | null {
  return text ? (JSON.parse(text) as StoredStageState) : null;
}

/** The state to restore into the stage of `type`: its live state, else its parked one. */
function storedStateOf(stored: StoredStageState | null, type: PipelineType): string | null {
  if (!stored) return null;
  return stored.type === type ? stored.state : (stored.parked?.[type] ?? null);
}

function storedText(type: PipelineType | null, state: string | null, parked: Parked): string | null {
  const hasParked = Object.keys(parked).length > 0;
  if (state === null && !hasParked) return null;
  return JSON.stringify({ type: state === null ? null : type, state, ...(hasParked ? { parked } : {}) } satisfies StoredStageState);
}

/** A batch read and processed (compression possibly still running), not yet uploaded. */
interface Prepared {
  readonly intent: PendingBatch;
  /** True when the intent is already recorded (a replay of a pending batch). */
  readonly recorded: boolean;
  readonly firstId: number;
  readonly recordsIn: number;
  readonly rawBytes: number;
  /** Event times of the batch's rows (for latency metrics once durable). */
  readonly eventMs: Float64Array;
  readonly t0: number;
  readonly output: Promise<StageOutput>;
  /** Stage state after this batch, as stored with the checkpoint (JSON of StoredStageState) or null. */
  readonly state: Promise<string | null>;
}

/** How many batches may be in flight: one uploading while the next is read and compressed. */
const PIPELINE_DEPTH = 2;

class Runner {
  readonly #db: Database.Database;
  readonly #state: StateStore;
  readonly #sink: Sink;
  readonly #env: StageEnv;
  readonly #buckets: Record<BucketStage, string>;
  readonly #log: Logger;
  readonly #hooks: RunHooks;
  readonly #cursor: string;
  readonly #stages = new Map<PipelineType, Stage>();
  readonly #readers = new Map<string, BatchReader>();
  readonly #newReaders: ReaderFactory;
  readonly #version = pipelineVersion();
  #keyNode: string;
  /** The stage state of the last checkpoint (restored into stages created later). */
  #stored: StoredStageState | null = null;
  /** The stateful stage active after the last *prepared* batch (ahead of the checkpoint while batches are in flight). */
  #active: PipelineType | null = null;
  /** Parked states after the last prepared batch (known once its flush, if any, resolves). */
  #parked: Promise<Parked> = Promise.resolve({});
  #totals = { batches: 0, rows: 0, objects: 0, bytes: 0, lastId: 0 };

  constructor(
    db: Database.Database,
    state: StateStore,
    sink: Sink,
    env: StageEnv,
    buckets: Record<BucketStage, string>,
    log: Logger,
    hooks: RunHooks,
    readers: ReaderFactory,
  ) {
    this.#db = db;
    this.#newReaders = readers;
    this.#state = state;
    this.#sink = sink;
    this.#env = env;
    this.#buckets = buckets;
    this.#log = log;
    this.#hooks = hooks;
    const o = env.options;
    this.#cursor = o.fromId !== undefined ? `replay:${o.type}:${o.fromId}` : 'live';
    this.#keyNode = this.#keyNodeFor(Number(state.getSetting('source_generation') ?? '1'));
  }

  #keyNodeFor(generation: number): string {
    return generation > 1 ? `${this.#env.nodeId}.g${generation}` : this.#env.nodeId;
  }

  async run(): Promise<RunSummary> {
    const o = this.#env.options;
    const started = performance.now();
    const startId = o.fromId !== undefined ? Math.max(0, o.fromId - 1) : 0;
    this.#state.ensureCheckpoint(this.#cursor, startId, sourceAnchor(this.#db, startId));
    this.#checkSource();
    const progress = new Progress({ enabled: o.progress, stream: process.stderr });
    const signal = this.#hooks.signal;
    let idleMs = 0;
    let backoffMs = 0;
    let firstSeenPendingAt = 0;
    try {
      const file = fileIdentity(resolve(o.db));
      while (!signal?.aborted) {
        this.#checkFile(resolve(o.db), file);
        const cp = this.#state.checkpoint(this.#cursor)!;
        const maxId = this.#reader('ingestion').maxId();
        progress.update(cp.lastId, maxId);
        if (!cp.pending) {
          // New rows: first make sure they follow the checkpoint's row (one indexed lookup). A sensor
          // that emptied its table and refilled it past the checkpoint would otherwise be skipped.
          if (maxId > cp.lastId && this.#checkSource()) continue;
          if (maxId <= cp.lastId) {
            if (maxId < cp.lastId && this.#checkSource()) continue;
            if (o.once) break;
            firstSeenPendingAt = 0;
            idleMs = Math.min(Math.max(10, idleMs * 2), o.pollInterval);
            await sleep(idleMs, undefined, { signal }).catch(() => {});
            continue;
          }
          // Follow mode: wait for a full batch, or until the oldest waiting row has waited --batch-timeout.
          if (!o.once && maxId - cp.lastId < o.batchSize) {
            const now = Date.now();
            if (firstSeenPendingAt === 0) firstSeenPendingAt = now;
            if (now - firstSeenPendingAt < o.batchTimeout) {
              await sleep(Math.min(50, o.batchTimeout), undefined, { signal }).catch(() => {});
              continue;
            }
          }
        }
        idleMs = 0;
        firstSeenPendingAt = 0;
        try {
          await this.#drain(cp.lastId, cp.pending, cp.stageState, maxId, progress);
          backoffMs = 0;
        } catch (err) {
          if (o.once || !(err instanceof PipelineError)) throw err;
          // Follow mode outlives outages: the failed batch stays pending and is replayed as is.
          backoffMs = Math.min(30_000, Math.max(500, backoffMs * 2));
          this.#log.warn(`${messageOf(err)} — retrying in ${Math.round(backoffMs / 100) / 10} s`);
          await sleep(backoffMs * (0.5 + Math.random() / 2), undefined, { signal }).catch(() => {});
        }
      }
      if (o.once && !signal?.aborted && o.flushWindows) await this.#finalFlush();
    } finally {
      progress.done();
      for (const s of this.#stages.values()) await s.close?.();
    }
    const elapsedMs = performance.now() - started;
    return {
      ...this.#totals,
      elapsedMs,
      rowsPerSecond: this.#totals.rows / Math.max(elapsedMs / 1000, 1e-9),
      nodeId: this.#env.nodeId,
      destination: this.#sink.location,
    };
  }

  /**
   * Processes batches from the checkpoint up to `maxId` with up to PIPELINE_DEPTH in flight:
   * batch N+1 is read and encoded while batch N compresses and uploads. Only the oldest batch
   * is ever uploaded, and only after its intent is recorded, so the exactly-once protocol is
   * the same as for one batch at a time.
   */
  async #drain(afterId: number, pending: PendingBatch | null, storedState: string | null, maxId: number, progress: Progress): Promise<void> {
    const signal = this.#hooks.signal;
    // Start from the checkpoint's stage state: after a restart or a failed upload, in-memory state may be ahead.
    const stored = parseStored(storedState);
    this.#stored = stored;
    this.#active = stored?.type ?? null;
    this.#parked = Promise.resolve({ ...(stored?.parked ?? {}) });
    for (const [type, stage] of this.#stages) stage.restoreState?.(storedStateOf(stored, type));
    const queue: Prepared[] = [];
    let next = afterId;
    let replay = pending;
    try {
      for (;;) {
        while (queue.length < PIPELINE_DEPTH && (replay || next < maxId) && !signal?.aborted) {
          const p = await this.#prepare(next, replay);
          replay = null;
          if (!p) break;
          queue.push(p);
          next = p.intent.lastId;
        }
        const head = queue.shift();
        if (!head) return;
        await this.#commit(head);
        progress.update(head.intent.lastId, maxId);
      }
    } finally {
      // Batches prepared but not committed are dropped: nothing of theirs was uploaded. So is any
      // read-ahead: the next drain starts again from the checkpoint, and the source may change meanwhile.
      for (const r of this.#readers.values()) r.reset();
      await Promise.allSettled(queue.map((p) => p.output));
    }
  }

  /**
   * A sensor that deletes its database and starts a new file leaves this run reading the old,
   * unlinked one forever. That is detected by the file's identity and ends the run with a clear
   * error: the next run opens the new file, finds the checkpoint's row gone or different, and
   * reads it as a new source generation (with the state in the sensor database itself, the
   * checkpoint went with the old file, so the next run starts over).
   */
  #checkFile(path: string, opened: string | null): void {
    const now = fileIdentity(path);
    if (now === opened) return;
    throw new PipelineError(
      'SOURCE_FILE_REPLACED',
      `the sensor database ${path} was ${now === null ? 'deleted' : 'replaced by a new file'} while running; ` +
        'stopping so that the next run reads the new file (run again, or let the job restart)',
    );
  }

  /** Detects a replaced or truncated source; returns true when the cursor was reset. */
  #checkSource(): boolean {
    const cp = this.#state.checkpoint(this.#cursor)!;
    if (cp.lastId <= 0 || cp.sourceIdentity === null) return false;
    const anchor = sourceAnchor(this.#db, cp.lastId);
    if (anchor === cp.sourceIdentity) return false;
    const maxId = this.#reader('ingestion').maxId();
    if (anchor.endsWith('|<missing>') && maxId >= cp.lastId) return false; // pruned by the sensor; ids still go on
    const gen = Number(this.#state.getSetting('source_generation') ?? '1') + 1;
    this.#state.setSetting('source_generation', String(gen));
    this.#keyNode = this.#keyNodeFor(gen);
    this.#state.resetCheckpoint(this.#cursor, 0, sourceAnchor(this.#db, 0));
    this.#log.warn(
      `the sensor database was replaced or truncated (checkpoint row ${cp.sourceIdentity} is now ${anchor}, max id ${maxId}): ` +
        `reading it from id 1 as source generation ${gen}; its objects are keyed ${this.#keyNode}_… so earlier objects are kept`,
    );
    return true;
  }

  #reader(type: PipelineType): BatchReader {
    const stage = this.#stages.get(type);
    const key = stage ? type : 'ingestion';
    let r = this.#readers.get(key);
    if (!r) {
      r = this.#newReaders.reader(stage?.columns, stage?.readBound);
      this.#readers.set(key, r);
    }
    return r;
  }

  async #stage(type: PipelineType): Promise<Stage> {
    let s = this.#stages.get(type);
    if (!s) {
      s = await createStage(type, this.#env);
      s.restoreState?.(storedStateOf(this.#stored, type));
      this.#stages.set(type, s);
    }
    return s;
  }

  /** Reads the next batch (or the pending one) and starts processing it; null when there are no rows. */
  async #prepare(afterId: number, pending: PendingBatch | null): Promise<Prepared | null> {
    const o = this.#env.options;
    const type = pending?.type ?? o.type ?? this.#state.activeType();
    const stage = await this.#stage(type);
    const prevType = this.#active !== null && this.#active !== type ? this.#active : null;
    const prev = prevType ? await this.#stage(prevType) : null;
    const t0 = performance.now();
    const batch = await (pending
      ? this.#reader(type).read(pending.afterId, Math.max(o.batchSize, pending.limit), pending.lastId)
      : this.#reader(type).read(afterId, o.batchSize));
    if (batch.length === 0) {
      if (pending) throw new PipelineError('SOURCE_CHANGED', `the pending batch of ids ${pending.afterId + 1}-${pending.lastId} is gone from the source`);
      return null;
    }
    const lastId = batch.id[batch.length - 1];
    const intent: PendingBatch = pending ?? {
      type,
      batchId: `${this.#env.nodeId}-${type}-${batch.id[0]}-${lastId}`,
      afterId,
      lastId,
      limit: o.batchSize,
      startedMs: Date.now(),
    };
    const ctx = this.#context(intent, false);
    // An operator switched away from a stateful stage: it emits what it held before the new stage starts.
    const flushed = prev?.flush ? prev.flush(ctx) : null;
    const processed = stage.process(batch, ctx);
    const output = Promise.all([flushed, processed]).then(([f, p]) => merge(f ? [f, p] : [p]));
    // The stage left parks its state after the flush; the stage entered takes its own back. Chained
    // in prepare order, and stateful stages capture their state before their first await, so what
    // is stored with each batch is the state right after it, even with the next batch in flight.
    const parked = Promise.all([this.#parked, flushed]).then(([before, f]) => {
      const next: Parked = { ...before };
      delete next[type];
      if (prevType && f?.state) next[prevType] = f.state;
      return next;
    });
    this.#parked = parked;
    const live = stage.restoreState ? type : null;
    const state = Promise.all([parked, processed]).then(([pk, p]) => storedText(live, live === null ? null : (p.state ?? null), pk));
    const prepared: Prepared = { intent, recorded: pending !== null, firstId: batch.id[0], recordsIn: batch.length, rawBytes: batch.rawBytes, eventMs: batch.eventMs, t0, output, state };
    this.#active = live;
    void output.catch(() => {});
    return prepared;
  }

  /** Records the intent, uploads, writes the metrics, commits. */
  async #commit(p: Prepared): Promise<void> {
    if (!p.recorded) this.#state.beginBatch(this.#cursor, p.intent);
    crashPoint('intent-recorded');
    const output = await p.output;
    await this.#sink.put(output.objects);
    crashPoint('batch-uploaded');
    const durableMs = Date.now();
    const processingMs = performance.now() - p.t0;
    const { intent } = p;
    const ctx = this.#context(intent, false);
    const latency = latencySummary(p.eventMs, durableMs);
    const facts = { type: intent.type, firstId: p.firstId, lastId: intent.lastId, recordsIn: p.recordsIn, rawBytes: p.rawBytes, output, processingMs, latency };
    await this.#sink.put(await metricsObjects(facts, ctx));
    this.#record(intent, await p.state, { firstId: p.firstId, recordsIn: p.recordsIn, rawBytes: p.rawBytes, output, durationMs: processingMs, latencyMs: latency ? latency.mean : null });
  }

  /** At the end of `--once`: emit what a stateful stage still holds, committed like a batch. */
  async #finalFlush(): Promise<void> {
    const cp = this.#state.checkpoint(this.#cursor)!;
    if (!cp.stageState) return;
    const carried = parseStored(cp.stageState);
    if (!carried?.type) return; // only parked states: nothing is open
    const type = carried.type;
    this.#stored = carried;
    this.#active = type;
    const stage = await this.#stage(type);
    if (!stage.flush) return;
    stage.restoreState?.(carried.state);
    const intent: PendingBatch = { type, batchId: `${this.#env.nodeId}-${type}-flush-${cp.lastId}`, afterId: cp.lastId, lastId: cp.lastId, limit: 0, startedMs: Date.now() };
    const ctx = this.#context(intent, true);
    const t0 = performance.now();
    const out = await stage.flush(ctx);
    if (out.objects.length === 0) return; // nothing was open: keep the stored state as it is
    await this.#sink.put(out.objects);
    // The stage's state after the flush (e.g. which windows were emitted) stays with the checkpoint,
    // so rows arriving for a flushed window on a later run become corrections, not a second window.
    const after = storedText(type, out.state ?? null, carried.parked ?? {});
    const output = { ...out, details: { flush: true, ...(out.details ?? {}) } };
    this.#record(intent, after, { firstId: cp.lastId, recordsIn: 0, rawBytes: 0, output, durationMs: performance.now() - t0, latencyMs: null });
  }

  /**
   * The commit step shared by batches and final flushes: checkpoint to `intent.lastId` with its
   * source anchor, the carried stage state and the execution row, in one transaction.
   */
  #record(
    intent: PendingBatch,
    stageState: string | null,
    b: { firstId: number; recordsIn: number; rawBytes: number; output: StageOutput; durationMs: number; latencyMs: number | null },
  ): void {
    const { output } = b;
    const bytes = bytesOf(output);
    this.#state.commitBatch(this.#cursor, intent.lastId, sourceAnchor(this.#db, intent.lastId), stageState, {
      pipeline_type: intent.type,
      batch_id: intent.batchId,
      cursor: this.#cursor,
      node_id: this.#env.nodeId,
      job_id: process.env.BACALHAU_JOB_ID ?? null,
      first_id: b.firstId,
      last_id: intent.lastId,
      records_in: b.recordsIn,
      records_out: output.recordsOut,
      invalid_count: output.invalidCount ?? null,
      raw_bytes: b.rawBytes,
      bytes_written: bytes,
      objects_written: output.objects.length,
      started_at: new Date(intent.startedMs).toISOString(),
      finished_at: new Date().toISOString(),
      duration_ms: b.durationMs,
      latency_ms: b.latencyMs,
      details: output.details && Object.keys(output.details).length ? JSON.stringify(output.details) : null,
    });
    crashPoint('batch-committed');
    this.#count({ type: intent.type, batchId: intent.batchId, firstId: b.firstId, lastId: intent.lastId, records: b.recordsIn, objects: output.objects.length, bytes });
  }

  #context(intent: PendingBatch, final: boolean): BatchContext {
    return {
      batchId: intent.batchId,
      nodeId: this.#env.nodeId,
      keyNode: this.#keyNode,
      version: this.#version,
      startedMs: intent.startedMs,
      nowMs: Date.now(),
      buckets: this.#buckets,
      gzipLevel: this.#env.options.gzipLevel,
      final,
    };
  }

  #count(b: BatchReport): void {
    this.#totals.batches++;
    this.#totals.rows += b.records;
    this.#totals.objects += b.objects;
    this.#totals.bytes += b.bytes;
    this.#totals.lastId = Math.max(this.#totals.lastId, b.lastId);
    this.#hooks.onBatch?.(b);
  }
}

/** Device and inode of a file ("dev:ino"), or null when it does not exist. */
function fileIdentity(path: string): string | null {
  try {
    const st = statSync(path);
    return `${st.dev}:${st.ino}`;
  } catch {
    return null;
  }
}

/** Combines the outputs of a flush and a batch into one (their states are stored separately: see #prepare). */
function merge(outputs: StageOutput[]): StageOutput {
  return {
    objects: outputs.flatMap((x) => x.objects),
    recordsOut: outputs.reduce((n, x) => n + x.recordsOut, 0),
    invalidCount: outputs.find((x) => x.invalidCount !== undefined)?.invalidCount,
    details: Object.assign({}, ...outputs.map((x) => x.details ?? {})),
  };
}
