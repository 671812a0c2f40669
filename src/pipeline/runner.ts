import type Database from 'better-sqlite3';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, PipelineError, messageOf } from '../errors.ts';
import { crashPoint } from '../faults.ts';
import type { Logger } from '../log.ts';
import { pipelineVersion } from '../meta/version.ts';
import { fileIdentity, sourceAnchor } from '../source/open.ts';
import { MIN_POOLED_IDS, type BatchReader, type ReaderFactory } from '../source/pooled-reader.ts';
import { tableColumns } from '../source/table.ts';
import { nodeKeyPart, type BucketStage } from '../sink/key.ts';
import { releaseBodies } from '../sink/bodies.ts';
import type { Sink } from '../sink/types.ts';
import { createStage, type StageEnv } from '../stages/index.ts';
import type { BatchContext, Stage, StageOutput } from '../stages/types.ts';
import { releaseBuffers, type ColumnarBatch } from '../batch.ts';
import type { StageSpec } from '../pool/types.ts';
import { manifestObject, readManifest } from '../state/manifest.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import { BEFORE_FIRST_ID, type Checkpoint, type PendingBatch, type StateStore } from '../state/store.ts';
import { bytesOf, latencySummary, metricsObjects } from './metrics.ts';
import { Progress } from './progress.ts';
import { parseStored, storedStateOf, storedText, type Parked, type StoredStageState } from './stage-state.ts';
import type { BatchReport, RunHooks, RunSummary } from './run.ts';
import type { AlertPath } from '../alerts/path.ts';

/** What the runner is built from (see runPipeline). */
export interface RunnerDeps {
  readonly db: Database.Database;
  readonly state: StateStore;
  readonly sink: Sink;
  readonly env: StageEnv;
  readonly buckets: Record<BucketStage, string>;
  readonly log: Logger;
  readonly hooks: RunHooks;
  readonly readers: ReaderFactory;
}

/** A batch handed out for reading and processing, in id order; `ready` once it is read and processed. */
interface Prepared {
  /** The end of the id range the batch covers: the next batch reads after it. */
  readonly rangeEnd: number;
  /** True when its intent is already recorded (a replay of a pending batch). */
  readonly recorded: boolean;
  readonly t0: number;
  /** The batch read and processed (compression possibly still running); null when its range held no row. */
  readonly ready: Promise<Ready | null>;
}

/** A batch read and processed, not yet uploaded. */
interface Ready {
  /** The intent to record; its `afterId` is the checkpoint it commits from (set at commit time for new batches). */
  readonly intent: PendingBatch;
  readonly firstId: number;
  readonly recordsIn: number;
  readonly rawBytes: number;
  /** Event times of the batch's rows (for latency metrics once durable). */
  readonly eventMs: Float64Array;
  readonly output: Promise<StageOutput>;
  /** Stage state after this batch, as stored with the checkpoint (JSON of StoredStageState) or null. */
  readonly state: Promise<string | null>;
  /** Called once the batch is committed: frees what only its commit needed (a worker's bodies). */
  readonly committed?: () => void;
}

/** How many batches may be in flight: one uploading while the next is read and compressed. */
const PIPELINE_DEPTH = 2;
/** Follow mode's backoff after a failure: doubling from the first to the last, with jitter. */
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;
/** PipelineError codes that no retry can fix: follow mode stops on them too. */
const FATAL = new Set(['CHECKPOINT_MOVED', 'SOURCE_FILE_REPLACED']);

/**
 * The run loop: read the next batch after the checkpoint, process it with the active stage,
 * write its objects, then commit checkpoint + execution in one transaction.
 *
 * Exactly once: the batch's id range is recorded as pending before any upload, and a run that
 * finds a pending batch replays exactly it (same rows, same type, same start time, same node
 * key), so its objects land on the same keys. The checkpoint moves only after every object is
 * durable, and only from where this run found it (a compare-and-swap). Every batch first writes
 * the node's manifest into the lake, so a lost state is recovered exactly (state/manifest.ts).
 * All timers use the monotonic clock: a wall-clock jump changes processing timestamps, nothing else.
 */
export class Runner {
  readonly #db: Database.Database;
  readonly #state: StateStore;
  readonly #sink: Sink;
  readonly #env: StageEnv;
  readonly #buckets: Record<BucketStage, string>;
  readonly #log: Logger;
  readonly #hooks: RunHooks;
  readonly #cursor: string;
  readonly #live: boolean;
  readonly #stages = new Map<PipelineType, Stage>();
  readonly #readers = new Map<string, BatchReader>();
  readonly #newReaders: ReaderFactory;
  readonly #version = pipelineVersion();
  #generation: number;
  #keyNode: string;
  /** The stage state of the last checkpoint (restored into stages created later). */
  #stored: StoredStageState | null = null;
  /** The last committed checkpoint as the manifest states it: its stage state text and anchor. */
  #committed: { stageState: string | null; anchor: string | null } = { stageState: null, anchor: null };
  /** Where the checkpoint is (the last committed id): new batches commit from here (compare-and-swap). */
  #checkpointAt = BEFORE_FIRST_ID;
  /** The alert path's turn: batches are observed in the order they were prepared. */
  #observed: Promise<unknown> = Promise.resolve();
  /** The stateful stage active after the last *prepared* batch (ahead of the checkpoint while batches are in flight). */
  #active: PipelineType | null = null;
  /** Parked states after the last prepared batch (known once its flush, if any, resolves). */
  #parked: Promise<Parked> = Promise.resolve({});
  #totals = { batches: 0, rows: 0, objects: 0, bytes: 0, lastId: 0 };
  /** Stage 5, fed every batch this runner reads (set before run(); null without alerts). */
  alerts: AlertPath | null = null;

  constructor(deps: RunnerDeps) {
    this.#db = deps.db;
    this.#newReaders = deps.readers;
    this.#state = deps.state;
    this.#sink = deps.sink;
    this.#env = deps.env;
    this.#buckets = deps.buckets;
    this.#log = deps.log;
    this.#hooks = deps.hooks;
    const o = deps.env.options;
    this.#live = o.fromId === undefined;
    this.#cursor = this.#live ? 'live' : `replay:${o.type}:${o.fromId}`;
    this.#generation = Number(deps.state.getSetting('source_generation') ?? '1');
    this.#keyNode = nodeKeyPart(deps.env.nodeId, { generation: this.#generation });
  }

  async run(): Promise<RunSummary> {
    const o = this.#env.options;
    const started = performance.now();
    const progress = new Progress({ enabled: o.progress, stream: process.stderr, status: this.#hooks.metrics });
    const signal = this.#hooks.signal;
    try {
      if (!(await this.#start())) return this.#summary(started);
      this.#checkSource();
      // The file the run opened (the workers hold their reads to the same one).
      const file = this.#newReaders.source.dbFile;
      let idleMs = 0;
      let backoffMs = 0;
      let firstSeenPendingAt = -1;
      while (!signal?.aborted) {
        this.#checkFile(this.#newReaders.source.db, file);
        const cp = this.#state.checkpoint(this.#cursor)!;
        const reader = this.#reader('control');
        const maxId = reader.maxId();
        progress.update(this.#totals.rows, cp.lastId === BEFORE_FIRST_ID ? maxId : maxId - cp.lastId);
        if (!cp.pending) {
          // New rows: first make sure they follow the checkpoint's row (one indexed lookup). A sensor
          // that emptied its table and refilled it past the checkpoint would otherwise be skipped.
          if (maxId > cp.lastId && this.#checkSource()) continue;
          if (maxId <= cp.lastId) {
            if (maxId < cp.lastId && this.#checkSource()) continue;
            this.#refuseUnreadable(reader);
            if (o.once) break;
            firstSeenPendingAt = -1;
            idleMs = Math.min(Math.max(10, idleMs * 2), o.pollInterval);
            await sleep(idleMs, undefined, { signal }).catch(() => {});
            continue;
          }
          // Follow mode: wait for a full batch, or until the oldest waiting row has waited --batch-timeout.
          if (!o.once && maxId - cp.lastId < o.batchSize) {
            const now = performance.now();
            if (firstSeenPendingAt < 0) firstSeenPendingAt = now;
            if (now - firstSeenPendingAt < o.batchTimeout) {
              await sleep(Math.min(50, o.batchTimeout), undefined, { signal }).catch(() => {});
              continue;
            }
          }
        }
        firstSeenPendingAt = -1;
        try {
          await this.#drain(cp, maxId, progress);
          backoffMs = 0;
        } catch (err) {
          if (o.once || !retryable(err)) throw err;
          // Follow mode outlives outages: the failed batch stays pending and is replayed as is.
          backoffMs = await this.#backoff(backoffMs, err);
          continue;
        }
        // Nothing landed although max id was past the checkpoint: no row in between (an empty table
        // has max id 0, and a fresh checkpoint sits before every id). Idle like a table without new
        // rows — looping at once would never yield to timers or signals, a core spinning for good.
        if (!cp.pending && this.#state.checkpoint(this.#cursor)!.lastId === cp.lastId) {
          if (o.once) break;
          idleMs = Math.min(Math.max(10, idleMs * 2), o.pollInterval);
          await sleep(idleMs, undefined, { signal }).catch(() => {});
          continue;
        }
        idleMs = 0;
      }
      if (o.once && !signal?.aborted && o.flushWindows) await this.#finalFlush();
    } finally {
      progress.done();
      for (const s of this.#stages.values()) await s.close?.();
    }
    return this.#summary(started);
  }

  /**
   * Starts the worker threads the active stage will use (a follower does this before taking its
   * state: else its first batch starts them while the first alerts wait on two busy cores). A
   * stage that runs on the main thread (it keeps state) has them read; a row stage runs in them.
   */
  async warmWorkers(): Promise<void> {
    const readers = this.#newReaders;
    if (readers.threadsFor() === 0) return;
    const stage = await this.#stage(this.#env.options.type ?? this.#state.activeType());
    await readers.pool(stage.restoreState ? 'reads' : 'row-stages');
  }

  /**
   * `--once`: when the backlog after the checkpoint will go to the workers, starts them now, not
   * awaited, so that their start-up (modules, kernels: ≈ 70 ms for one, more for two) overlaps
   * the rest of the run's set-up instead of delaying the first batch. Only a head start: a
   * failure here is met again, and reported, where the first batch needs the workers.
   */
  prewarmWorkers(): void {
    const o = this.#env.options;
    if (!o.once || this.#newReaders.threadsFor() === 0) return;
    try {
      const after = this.#state.checkpoint(this.#cursor)?.lastId ?? (this.#live ? BEFORE_FIRST_ID : o.fromId! - 1);
      if (!this.#workersWorthIt(after, this.#reader('control').maxId())) return;
    } catch {
      return; // the run itself meets (and reports) whatever failed here
    }
    this.warmWorkers().catch(() => {});
  }

  /** The node part of the keys this run writes now (the node key, with `~g<N>` after a source replacement). */
  get keyNode(): string {
    return this.#keyNode;
  }

  /** The checkpoint this run moves: `live`, or the replay cursor of `--from-id`. */
  get cursor(): string {
    return this.#cursor;
  }

  #summary(started: number): RunSummary {
    const elapsedMs = performance.now() - started;
    return {
      ...this.#totals,
      elapsedMs,
      rowsPerSecond: this.#totals.rows / Math.max(elapsedMs / 1000, 1e-9),
      nodeId: this.#env.nodeId,
      destination: this.#sink.location,
      alerts: null,
      workerThreads: this.#newReaders.started,
    };
  }

  /** Waits before the next attempt (monotonic, interruptible by the stop signal); returns the next delay. */
  async #backoff(previousMs: number, err: unknown): Promise<number> {
    const ms = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_FIRST_MS, previousMs * 2));
    this.#hooks.metrics?.batchFailed(err);
    this.#log.warn(`${messageOf(err)} — retrying in ${Math.round(ms / 100) / 10} s`);
    await sleep(ms * (0.5 + Math.random() / 2), undefined, { signal: this.#hooks.signal }).catch(() => {});
    return ms;
  }

  /**
   * Checks the buckets and finds the checkpoint (creating or recovering it). In follow mode an
   * unreachable S3 is waited out with backoff, like an outage in the middle of a run; `--once`
   * fails at once (exit 1). False when stopped before the start completed.
   */
  async #start(): Promise<boolean> {
    let backoffMs = 0;
    for (;;) {
      try {
        await this.#sink.prepare(Object.values(this.#buckets));
        this.#findCheckpoint(await this.#manifestIfNeeded());
        this.#hooks.metrics?.started();
        return true;
      } catch (err) {
        if (this.#env.options.once || !retryable(err)) throw err;
        backoffMs = await this.#backoff(backoffMs, err);
        if (this.#hooks.signal?.aborted) return false;
      }
    }
  }

  /** The node's manifest, read only when the live checkpoint is missing (a new or lost state). */
  async #manifestIfNeeded() {
    if (!this.#live || this.#state.checkpoint(this.#cursor) !== null) return null;
    try {
      return await readManifest(this.#sink, this.#buckets.metrics, this.#env.nodeId);
    } catch (err) {
      if (err instanceof RangeError) throw new ConfigError('MANIFEST_DAMAGED', `${err.message}; move it aside to let this node start afresh (its rows are then exported again)`);
      throw err;
    }
  }

  /**
   * Creates the checkpoint when there is none: from the lake's manifest of this node when there is
   * one (the state was lost: resume exactly where the lake is, replaying the recorded intent onto
   * its keys), else before the first id. `--from-id N` starts its own cursor before N.
   */
  #findCheckpoint(manifest: Awaited<ReturnType<typeof readManifest>>): void {
    const o = this.#env.options;
    if (!manifest) {
      const startId = this.#live ? BEFORE_FIRST_ID : o.fromId! - 1;
      this.#state.ensureCheckpoint(this.#cursor, startId, sourceAnchor(this.#db, startId));
      return;
    }
    const { committed, pending } = manifest;
    const anchor = sourceAnchor(this.#db, committed.last_id);
    const maxId = this.#reader('control').maxId();
    // The same database when the rows both anchors name are still what they were (or were pruned
    // while the ids went on): the committed row, and the last row of the batch in flight.
    const holds = (id: number, recorded: string | null, now: string) => recorded === null || now === recorded || (now.endsWith('|<missing>') && maxId >= id);
    const same = holds(committed.last_id, committed.source_identity, anchor) && holds(pending.lastId, manifest.pending_anchor, sourceAnchor(this.#db, pending.lastId));
    const where = `${this.#buckets.metrics}/_edgelake/manifests/…/${this.#env.nodeId}`;
    if (!same) {
      // Another database under the same node id (the sensor replaced it, and the state went with it).
      this.#setGeneration(manifest.generation + 1);
      this.#state.ensureCheckpoint(this.#cursor, BEFORE_FIRST_ID, sourceAnchor(this.#db, BEFORE_FIRST_ID));
      this.#log.warn(
        `this state has no checkpoint, and the lake's manifest of node ${this.#env.nodeId} (${where}) describes another database ` +
          `(row ${committed.source_identity}, here ${anchor}): reading this one from its first id as source generation ${this.#generation}, keyed ${this.#keyNode}_…`,
      );
      return;
    }
    this.#setGeneration(manifest.generation);
    if (this.#state.ensureCheckpoint(this.#cursor, committed.last_id, committed.source_identity ?? anchor, committed.stage_state)) {
      this.#state.beginBatch(this.#cursor, pending);
      this.#log.warn(
        `this state had no checkpoint (a new or lost state file?), but the lake holds node ${this.#env.nodeId}'s objects: recovered the position from its manifest ` +
          `(${where}): ids up to ${committed.last_id} are in the lake, and batch ${pending.afterId + 1}-${pending.lastId} is replayed onto the keys it was written under`,
      );
    }
  }

  #setGeneration(gen: number): void {
    this.#generation = gen;
    this.#state.setSetting('source_generation', String(gen));
    this.#keyNode = nodeKeyPart(this.#env.nodeId, { generation: gen });
  }

  /** Ids beyond 2^53 - 1 are never read wrong or skipped silently: the run stops, naming the id. */
  #refuseUnreadable(reader: BatchReader): void {
    const id = reader.unreadableId();
    if (id === null) return;
    throw new ConfigError(
      'ID_OUT_OF_RANGE',
      `sensor_readings holds id ${id}, beyond 2^53 - 1 (9007199254740991), the largest id edgelake reads exactly; every row up to that is exported, ` +
        `and the run stops here rather than read ids it cannot tell apart. Renumber those rows below 2^53 (or give the sensor a new table)`,
    );
  }

  /**
   * Processes batches from the checkpoint up to `maxId` with up to PIPELINE_DEPTH in flight:
   * batch N+1 is read and encoded while batch N compresses and uploads. Only the oldest batch
   * is ever uploaded, and only after its intent is recorded, so the exactly-once protocol is
   * the same as for one batch at a time.
   */
  async #drain(cp: Checkpoint, maxId: number, progress: Progress): Promise<void> {
    const signal = this.#hooks.signal;
    // Start from the checkpoint's stage state: after a restart or a failed upload, in-memory state may be ahead.
    const stored = parseStored(cp.stageState);
    this.#stored = stored;
    this.#committed = { stageState: cp.stageState, anchor: cp.sourceIdentity };
    this.#active = stored?.type ?? null;
    this.#parked = Promise.resolve({ ...(stored?.parked ?? {}) });
    for (const [type, stage] of this.#stages) stage.restoreState?.(storedStateOf(stored, type));
    this.#checkpointAt = cp.lastId;
    const queue: Prepared[] = [];
    let next = cp.lastId;
    let replay = cp.pending;
    try {
      for (;;) {
        while (queue.length < PIPELINE_DEPTH && (replay || next < maxId) && !signal?.aborted) {
          const p = replay?.kind === 'flush' ? await this.#prepareFlush(replay) : await this.#prepare(next, replay, maxId);
          replay = null;
          if (!p) break;
          queue.push(p);
          next = p.rangeEnd;
        }
        const head = queue.shift();
        if (!head) return;
        const ready = await head.ready;
        if (!ready) continue; // an id range without rows (deleted under us): nothing to land
        await this.#commit(head, ready);
        progress.update(this.#totals.rows, maxId - ready.intent.lastId);
      }
    } finally {
      // Batches prepared but not committed are dropped: nothing of theirs was uploaded. So is any
      // read-ahead: the next drain starts again from the checkpoint, and the source may change meanwhile.
      for (const r of this.#readers.values()) r.reset();
      await Promise.allSettled(queue.map((p) => p.ready.then((r) => r?.output)));
    }
  }

  /**
   * A sensor that deletes its database and starts a new file leaves this run reading the old,
   * unlinked one forever. That is detected by the file's identity and ends the run with a clear
   * error: the next run opens the new file, finds the checkpoint's row gone or different, and
   * reads it as a new source generation (with the state in the sensor database itself, the
   * checkpoint went with the old file, and the lake's manifest tells the next run what happened).
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
    if (cp.lastId === BEFORE_FIRST_ID || cp.sourceIdentity === null) return false;
    const anchor = sourceAnchor(this.#db, cp.lastId);
    if (anchor === cp.sourceIdentity) return false;
    const maxId = this.#reader('control').maxId();
    if (anchor.endsWith('|<missing>') && maxId >= cp.lastId) return false; // pruned by the sensor; ids still go on
    this.#setGeneration(this.#generation + 1);
    this.#state.resetCheckpoint(this.#cursor, BEFORE_FIRST_ID, sourceAnchor(this.#db, BEFORE_FIRST_ID));
    this.alerts?.reset(BEFORE_FIRST_ID);
    this.#log.warn(
      `the sensor database was replaced or truncated (checkpoint row ${cp.sourceIdentity} is now ${anchor}, max id ${maxId}): ` +
        `reading it from its first id as source generation ${this.#generation}; its objects are keyed ${this.#keyNode}_… so earlier objects are kept`,
    );
    return true;
  }

  /** The reader of a stage's columns (every column of the table for ingestion); `control` reads only ids, for max id and anchors. */
  #reader(type: PipelineType | 'control'): BatchReader {
    let r = this.#readers.get(type);
    if (!r) {
      const stage = type === 'control' ? undefined : this.#stages.get(type);
      if (type !== 'control' && !stage) throw new RangeError(`no stage ${type} was created before its reader`);
      const table = stage?.everyColumn ? tableColumns(this.#db) : null;
      r = this.#newReaders.reader(table ? table.known : (stage?.columns ?? ['id']), stage?.readBound, table?.extra ?? []);
      this.#readers.set(type, r);
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

  /**
   * Hands out the next batch after `afterId` (or the pending one): to a worker for a stateless
   * row stage (it reads, encodes and compresses the whole batch itself), else read here and
   * processed by the stage on this thread. Null when there are no rows.
   */
  async #prepare(afterId: number, pending: PendingBatch | null, maxId: number): Promise<Prepared | null> {
    const o = this.#env.options;
    const type = pending?.type ?? o.type ?? this.#state.activeType();
    const stage = await this.#stage(type);
    const prevType = this.#active !== null && this.#active !== type ? this.#active : null;
    // A switch away from a stateful stage flushes it here first: that batch stays on this thread.
    if (!prevType && !stage.restoreState && this.#workersWorthIt(afterId, maxId)) return this.#prepareInWorker(afterId, pending, type, stage, maxId);
    const prev = prevType ? await this.#stage(prevType) : null;
    const t0 = performance.now();
    const batch = await (pending
      ? this.#reader(type).read(pending.afterId, Math.max(o.batchSize, pending.limit), pending.lastId)
      : this.#reader(type).read(afterId, o.batchSize));
    if (batch.length === 0) {
      if (pending) throw new PipelineError('SOURCE_CHANGED', `the pending batch of ids ${pending.afterId + 1}-${pending.lastId} is gone from the source`);
      return null;
    }
    // Stage 5 sees every row the stage reads, before any upload: alerts never wait for the lake.
    await this.#observe(Promise.resolve(batch), pending?.afterId ?? afterId, type);
    const lastId = batch.id[batch.length - 1];
    const intent: PendingBatch = pending ?? {
      type,
      batchId: `${this.#env.nodeId}-${type}-${batch.id[0]}-${lastId}`,
      afterId,
      lastId,
      limit: o.batchSize,
      startedMs: Date.now(),
      keyNode: this.#keyNode,
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
    this.#active = live;
    void output.catch(() => {});
    const ready: Ready = { intent, firstId: batch.id[0], recordsIn: batch.length, rawBytes: batch.rawBytes, eventMs: batch.eventMs, output, state };
    return { rangeEnd: lastId, recorded: pending !== null, t0, ready: Promise.resolve(ready) };
  }

  /**
   * A batch of a stateless row stage, in a worker: the id range is cut here — from the next id
   * after `afterId` (one indexed lookup, so gaps cost nothing) for at most `--batch-size` ids, up
   * to `maxId` — and the worker reads, runs the stage and compresses. Returns at once, so the
   * next batch goes to the other worker meanwhile; results are committed in id order.
   */
  async #prepareInWorker(afterId: number, pending: PendingBatch | null, type: PipelineType, stage: Stage, maxId: number): Promise<Prepared | null> {
    const o = this.#env.options;
    let until: number;
    if (pending) until = pending.lastId;
    else {
      const first = this.#reader('control').nextId(afterId);
      if (first === null || first > maxId) return null;
      until = Math.min(Math.max(afterId, first - 1) + o.batchSize, maxId);
    }
    const t0 = performance.now();
    const startedMs = pending?.startedMs ?? Date.now();
    const keyNode = pending?.keyNode ?? this.#keyNode;
    const proto: PendingBatch = { type, batchId: pending?.batchId ?? '', afterId, lastId: until, limit: pending ? Math.max(o.batchSize, pending.limit) : o.batchSize, startedMs, keyNode };
    const ctx = this.#context(proto, false);
    const spec = await this.#workerSpec(type, stage);
    const done = this.#newReaders.pool('row-stages').then((pool) => pool.stage({ ...this.#newReaders.source, afterId, untilId: until, limit: proto.limit, spec, ctx }));
    void done.catch(() => {});
    // Stage 5 sees the batch as soon as the worker hands it back, in prepare order, before any upload.
    const observed = this.#observe(done.then((r) => r.batch), afterId, type);
    void observed.catch(() => {});
    const parked = this.#parked;
    const ready = done.then(async ({ batch, output }): Promise<Ready | null> => {
      if (batch.length === 0) {
        if (pending) throw new PipelineError('SOURCE_CHANGED', `the pending batch of ids ${pending.afterId + 1}-${pending.lastId} is gone from the source`);
        return null;
      }
      const lastId = batch.id[batch.length - 1];
      const intent: PendingBatch = pending ?? { ...proto, batchId: `${this.#env.nodeId}-${type}-${batch.id[0]}-${lastId}`, lastId };
      const pk = { ...(await parked) };
      delete pk[type];
      return { intent, firstId: batch.id[0], recordsIn: batch.length, rawBytes: batch.rawBytes, eventMs: batch.eventMs, output: Promise.resolve(output), state: Promise.resolve(storedText(null, null, pk)), committed: () => releaseBodies(output.objects) };
    });
    this.#active = null;
    void ready.catch(() => {});
    // Once the alert path is done with the batch and its record is made, only its event times are
    // read again (the latency summary at commit): the other columns are freed at once.
    void Promise.all([done, observed, ready]).then(([{ batch }]) => releaseBuffers(batch, [batch.eventMs]), () => {});
    return { rangeEnd: until, recorded: pending !== null, t0, ready };
  }

  /**
   * Whether a row stage's batch after `afterId` goes to a worker. Always when the run has workers,
   * except that a `--once` run whose whole backlog is under MIN_POOLED_IDS ids, and which has not
   * started its pool, runs it here and never starts the pool (a Bacalhau batch job over a few
   * thousand new rows would spend more on starting two workers than on its rows). A follower has
   * started its pool already; `--read-threads N` is the operator's choice and always taken.
   */
  #workersWorthIt(afterId: number, maxId: number): boolean {
    const readers = this.#newReaders;
    if (readers.threadsFor() === 0) return false;
    if (readers.workersAtHand() || !this.#env.options.once) return true;
    // Ids left from the next row on (a fresh checkpoint sits before the smallest safe integer).
    const first = this.#reader('control').nextId(afterId);
    return first !== null && maxId - first + 1 >= MIN_POOLED_IDS;
  }

  /** What a worker needs to build `stage` itself (plain data; the fuzzing key stays in this process). */
  async #workerSpec(type: PipelineType, stage: Stage): Promise<StageSpec> {
    const reader = this.#reader(type);
    const o = this.#env.options;
    const spec = { type: type as StageSpec['type'], columns: [...reader.columns], extras: [...reader.extras], keepTimestampText: reader.columns.includes('timestamp') && (stage.everyColumn === true || stage.columns.includes('timestamp')) };
    if (type !== 'enriched') return spec;
    const policy = await this.#env.fuzzing();
    return { ...spec, enriched: { fuzzKey: policy.fuzzingKey()!, radiusKm: o.fuzzRadiusKm, keepOriginalGps: o.keepOriginalGps, sourceFile: this.#env.sourceFile, identity: this.#env.identity } };
  }

  /** Hands batches to the alert path in the order they were prepared. */
  #observe(batch: Promise<ColumnarBatch>, afterId: number, type: PipelineType): Promise<void> {
    const alerts = this.alerts;
    if (!alerts) return Promise.resolve();
    const turn = Promise.all([this.#observed, batch]).then(([, b]) => alerts.observe(b, afterId, type));
    this.#observed = turn.catch(() => {});
    return turn;
  }

  /**
   * The final flush of a stateful stage (end of `--once`) as a batch of its own: it emits the open
   * windows of the checkpoint's state under a `flush` intent, so a kill anywhere in it is replayed
   * from the same state onto the same keys before any new row is processed (new rows first would
   * change the windows, and the flushed ones would land a second time). `pending` replays one.
   */
  async #prepareFlush(pending: PendingBatch | null): Promise<Prepared | null> {
    const cp = this.#state.checkpoint(this.#cursor)!;
    const carried = parseStored(cp.stageState);
    if (!carried?.type) return null; // only parked states: nothing is open
    const type = carried.type;
    this.#stored = carried;
    this.#active = type;
    const stage = await this.#stage(type);
    if (!stage.flush) return null;
    stage.restoreState?.(carried.state);
    const intent: PendingBatch = pending ?? {
      type,
      kind: 'flush',
      batchId: `${this.#env.nodeId}-${type}-flush-${cp.lastId}`,
      afterId: cp.lastId,
      lastId: cp.lastId,
      limit: 0,
      startedMs: Date.now(),
      keyNode: this.#keyNode,
    };
    const t0 = performance.now();
    const out = await stage.flush(this.#context(intent, true));
    // Nothing was open: keep the stored state as it is (a replayed flush with nothing to emit just commits).
    if (out.objects.length === 0 && !pending) return null;
    // The stage's state after the flush (e.g. which windows were emitted) stays with the checkpoint,
    // so rows arriving for a flushed window on a later run become corrections, not a second window.
    const state = storedText(type, out.state ?? null, carried.parked ?? {});
    const output = { ...out, details: { flush: true, ...(out.details ?? {}) } };
    const ready: Ready = { intent, firstId: cp.lastId, recordsIn: 0, rawBytes: 0, eventMs: new Float64Array(0), output: Promise.resolve(output), state: Promise.resolve(state) };
    return { rangeEnd: cp.lastId, recorded: pending !== null, t0, ready: Promise.resolve(ready) };
  }

  /** Records the intent, writes the manifest, uploads, writes the metrics, commits. */
  async #commit(head: Prepared, r: Ready): Promise<void> {
    // A new batch commits from where the checkpoint is now: the rows between it and the batch's
    // range start do not exist (a range starts right after the previous one, or after a gap).
    const intent: PendingBatch = head.recorded ? r.intent : { ...r.intent, afterId: this.#checkpointAt };
    const p = { ...r, t0: head.t0 };
    if (!head.recorded) this.#state.beginBatch(this.#cursor, intent);
    crashPoint('intent-recorded');
    const output = await p.output;
    this.#hooks.metrics?.batchRead(intent.type, p.recordsIn);
    const ctx = this.#context(intent, intent.kind === 'flush');
    if (this.#live) {
      await this.#sink.put([
        await manifestObject(this.#buckets.metrics, {
          v: 1,
          node_id: this.#env.nodeId,
          generation: this.#generation,
          committed: { last_id: intent.afterId, source_identity: this.#committed.anchor, stage_state: this.#committed.stageState },
          pending: intent,
          pending_anchor: sourceAnchor(this.#db, intent.lastId),
          written_at: new Date().toISOString(),
          version: this.#version,
        }),
      ]);
    }
    await this.#sink.put(output.objects);
    crashPoint('batch-uploaded');
    const durableMs = Date.now();
    const processingMs = performance.now() - p.t0;
    const latency = latencySummary(p.eventMs, durableMs);
    const facts = { type: intent.type, firstId: p.firstId, lastId: intent.lastId, recordsIn: p.recordsIn, rawBytes: p.rawBytes, output, processingMs, latency, live: this.#live, flush: intent.kind === 'flush' };
    await this.#sink.put(await metricsObjects(facts, ctx));
    const stageState = await p.state;
    const anchor = sourceAnchor(this.#db, intent.lastId);
    const bytes = bytesOf(output);
    this.#state.commitBatch(this.#cursor, intent.afterId, intent.lastId, anchor, stageState, {
      pipeline_type: intent.type,
      batch_id: intent.batchId,
      cursor: this.#cursor,
      node_id: this.#env.nodeId,
      job_id: process.env.BACALHAU_JOB_ID ?? null,
      first_id: p.firstId,
      last_id: intent.lastId,
      records_in: p.recordsIn,
      records_out: output.recordsOut,
      invalid_count: output.invalidCount ?? null,
      raw_bytes: p.rawBytes,
      bytes_written: bytes,
      objects_written: output.objects.length,
      started_at: new Date(intent.startedMs).toISOString(),
      finished_at: new Date().toISOString(),
      duration_ms: processingMs,
      latency_ms: latency ? latency.mean : null,
      details: output.details && Object.keys(output.details).length ? JSON.stringify(output.details) : null,
    });
    this.#committed = { stageState, anchor };
    this.#checkpointAt = intent.lastId;
    crashPoint('batch-committed');
    r.committed?.();
    this.#count({ type: intent.type, batchId: intent.batchId, firstId: p.firstId, lastId: intent.lastId, records: p.recordsIn, objects: output.objects.length, bytes, recordsOut: output.recordsOut, durationMs: processingMs });
  }

  /** At the end of `--once`: emit what a stateful stage still holds, committed like a batch. */
  async #finalFlush(): Promise<void> {
    this.#checkpointAt = this.#state.checkpoint(this.#cursor)!.lastId;
    const p = await this.#prepareFlush(null);
    if (p) await this.#commit(p, (await p.ready)!);
  }

  #context(intent: PendingBatch, final: boolean): BatchContext {
    return {
      batchId: intent.batchId,
      nodeId: this.#env.nodeId,
      keyNode: intent.keyNode ?? this.#keyNode,
      version: this.#version,
      startedMs: intent.startedMs,
      nowMs: Date.now(),
      buckets: this.#buckets,
      gzipLevel: this.#env.options.gzipLevel,
      format: this.#env.options.format,
      final,
    };
  }

  #count(b: BatchReport): void {
    this.#totals.batches++;
    this.#totals.rows += b.records;
    this.#totals.objects += b.objects;
    this.#totals.bytes += b.bytes;
    this.#totals.lastId = Math.max(this.#totals.lastId, b.lastId);
    this.#hooks.metrics?.batchCommitted(b);
    this.#hooks.onBatch?.(b);
  }
}

/** Whether follow mode should retry after `err`: transient runtime faults yes, configuration and protocol violations no. */
function retryable(err: unknown): boolean {
  return err instanceof PipelineError && !FATAL.has(err.code);
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
