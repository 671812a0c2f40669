import type Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import type { ColumnarBatch } from '../batch.ts';
import { KernelPool, type ReadPart } from '../pool/kernel-pool.ts';
import type { KernelImpl } from '../kernels/types.ts';
import type { DbFile } from '../pool/types.ts';
import { fileIdentity } from './open.ts';
import { SensorReader } from './reader.ts';
import type { ColumnName } from './schema.ts';

/** What the runner reads batches through: on the main thread, or by worker threads. */
export interface BatchReader {
  /** The columns each batch holds, in table order. */
  readonly columns: readonly ColumnName[];
  /** Largest readable id in the table (0 when empty; at most 2^53 - 1, see SensorReader.maxId). */
  maxId(): number;
  /** The first id beyond 2^53 - 1 seen by the last maxId(), or null. */
  unreadableId(): bigint | null;
  /** The smallest id greater than `afterId`, or null (one indexed lookup). */
  nextId(afterId: number): number | null;
  /** Columns outside the contract each batch holds (ingestion). */
  readonly extras: readonly string[];
  /**
   * The next rows after `afterId` (and ≤ untilId), in id order: at most `limit`, and never
   * skipping one, but possibly fewer than `limit` while more exist (a reader may cut at an id
   * range). Empty only when no row is left in the range.
   */
  read(afterId: number, limit: number, untilId?: number): Promise<ColumnarBatch>;
  /** Forgets any read-ahead (the source may have changed, or the runner starts over from its checkpoint). */
  reset(): void;
}

/** Options of {@link PooledReader}. */
export interface PooledReaderOptions {
  /** The main connection: cuts batch boundaries, answers maxId, and reads small batches itself. */
  readonly db: Database.Database;
  /** Path of the same database, which each worker opens read-only. */
  readonly path: string;
  /** The file the path named when the run opened it (`dev:ino`): workers refuse another one. */
  readonly file?: DbFile;
  /** The worker pool, started on first use (a run that only ever sees small batches never starts it). */
  readonly pool: () => Promise<KernelPool>;
  /** Columns to read (`id` and `timestamp` are always read). Default: all 27. */
  readonly columns?: readonly ColumnName[];
  /** Columns outside the contract, read as stored. Default none. */
  readonly extras?: readonly string[];
  /** Keep the timestamp text as stored. Default true. */
  readonly keepTimestampText?: boolean;
  /** Parts a batch is cut into, one task each: the pool's thread count. Default 2. */
  readonly parts?: number;
  /** Batches spanning fewer ids than this are read on the main thread. Default {@link MIN_POOLED_IDS}. */
  readonly minPooledIds?: number;
}

/**
 * Reads batches with worker threads, each reading a disjoint id range of the batch over its own
 * connection (shared/PERFORMANCE.md: row materialisation bounds the pipeline, and two readers
 * nearly double it), and reads the next batch ahead while the current one is processed and
 * uploaded. A batch is an id range of `limit` ids, so where it ends is known without scanning the
 * table (ids are unique: it holds at most `limit` rows, fewer where ids have gaps). The runner
 * records each batch's id range before uploading it, and a replay reads exactly that range, so
 * keys stay deterministic whichever reader produced the batch.
 */
export class PooledReader implements BatchReader {
  readonly #main: SensorReader;
  readonly #path: string;
  readonly #file: DbFile;
  readonly #pool: () => Promise<KernelPool>;
  readonly #keepTs: boolean;
  readonly #minPooledIds: number;
  readonly #parts: number;
  /** At most one batch read ahead: the one that follows the last batch handed out. */
  #ahead: { afterId: number; limit: number; rangeEnd: number; batch: Promise<ColumnarBatch> } | null = null;
  /** Where the last batch read ends: its last row, and the end of the id range it covered. */
  #covered: { lastRow: number; rangeEnd: number } | null = null;

  constructor(opts: PooledReaderOptions) {
    this.#keepTs = opts.keepTimestampText ?? true;
    this.#main = new SensorReader({ db: opts.db, columns: opts.columns, extras: opts.extras, keepTimestampText: this.#keepTs });
    this.#path = opts.path;
    this.#file = opts.file ?? null;
    this.#pool = opts.pool;
    this.#minPooledIds = opts.minPooledIds ?? MIN_POOLED_IDS;
    this.#parts = opts.parts ?? 2;
    if (!(Number.isInteger(this.#parts) && this.#parts >= 1)) throw new RangeError(`PooledReader parts must be an integer ≥ 1, got ${this.#parts}`);
  }

  get columns(): readonly ColumnName[] {
    return this.#main.columns;
  }

  maxId(): number {
    return this.#main.maxId();
  }

  unreadableId(): bigint | null {
    return this.#main.unreadableId();
  }

  nextId(afterId: number): number | null {
    return this.#main.nextId(afterId);
  }

  get extras(): readonly string[] {
    return this.#main.extras;
  }

  read(afterId: number, limit: number, untilId = Number.MAX_SAFE_INTEGER): Promise<ColumnarBatch> {
    const ahead = this.#ahead;
    this.#ahead = null;
    // The last batch handed out ended at its last row, its range at rangeEnd: no id in between exists.
    const from = this.#covered && this.#covered.lastRow === afterId ? this.#covered.rangeEnd : afterId;
    if (ahead && ahead.afterId === from && ahead.limit === limit && untilId === Number.MAX_SAFE_INTEGER) {
      // Keep the workers busy: the batch after this one is queued before this one is even done.
      this.#readAhead(ahead.rangeEnd, limit);
      return ahead.batch;
    }
    ahead?.batch.catch(() => {});
    const { batch, rangeEnd } = this.#start(afterId, limit, untilId);
    if (rangeEnd > afterId) this.#readAhead(rangeEnd, limit);
    return batch;
  }

  reset(): void {
    this.#ahead?.batch.catch(() => {});
    this.#ahead = null;
    this.#covered = null;
  }

  /** Starts the read of the batch after `rangeEnd`, when a whole batch is already there to read. */
  #readAhead(rangeEnd: number, limit: number): void {
    // Only whole batches big enough for the workers: a small one is cheaper read when asked for.
    if (this.#ahead || limit < this.#minPooledIds || this.maxId() - rangeEnd < limit) return;
    const next = this.#start(rangeEnd, limit, Number.MAX_SAFE_INTEGER);
    next.batch.catch(() => {}); // an error surfaces when (if) this batch is asked for
    this.#ahead = { afterId: rangeEnd, limit, rangeEnd: next.rangeEnd, batch: next.batch };
  }

  /**
   * Reads the id range (from, from + limit] (capped at untilId and the current max id), where
   * `from` is afterId or, across a gap in the ids, just before the next id (one indexed lookup,
   * so a cursor far below the first id — a fresh one, or one before a jump in the ids — never
   * walks empty ranges): at most `limit` rows, since ids are unique, and no scan is needed to
   * find where it ends.
   */
  #start(afterId: number, limit: number, untilId: number): { batch: Promise<ColumnarBatch>; rangeEnd: number } {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`read: limit must be a positive integer, got ${limit}`);
    const stop = Math.min(untilId, this.maxId());
    const next = this.#main.nextId(afterId);
    // Nothing after afterId (yet): an empty batch, read like any other so errors surface the same way.
    if (next === null || next > stop) return { batch: this.#readMain(afterId, 1, afterId), rangeEnd: afterId };
    const from = Math.max(afterId, next - 1);
    const end = Math.min(from + limit, stop);
    let batch: Promise<ColumnarBatch>;
    if (end - from < this.#minPooledIds) {
      batch = this.#readMain(from, limit, end);
    } else {
      // One part per worker, equal id spans: a part holds at most its span of rows.
      const parts: ReadPart[] = [];
      const span = Math.ceil((end - from) / this.#parts);
      for (let at = from; at < end; at += span) parts.push({ afterId: at, untilId: Math.min(end, at + span), rows: Math.min(end, at + span) - at });
      batch = this.#pool().then((pool) => pool.readColumns({ db: this.#path, dbFile: this.#file, parts, columns: this.#main.columns, extras: this.#main.extras, keepTimestampText: this.#keepTs }));
    }
    batch = batch.then((b) => {
      if (b.length > 0) this.#covered = { lastRow: b.id[b.length - 1], rangeEnd: end };
      return b.length === 0 && end < stop ? this.#start(end, limit, untilId).batch : b;
    });
    return { batch, rangeEnd: end };
  }

  #readMain(afterId: number, limit: number, untilId: number): Promise<ColumnarBatch> {
    try {
      return Promise.resolve(this.#main.read(afterId, limit, untilId));
    } catch (err) {
      return Promise.reject(err);
    }
  }
}

/** A BatchReader over SensorReader on the main thread (`--read-threads 0`). */
export class MainThreadReader implements BatchReader {
  readonly #reader: SensorReader;

  constructor(reader: SensorReader) {
    this.#reader = reader;
  }

  get columns(): readonly ColumnName[] {
    return this.#reader.columns;
  }

  maxId(): number {
    return this.#reader.maxId();
  }

  unreadableId(): bigint | null {
    return this.#reader.unreadableId();
  }

  nextId(afterId: number): number | null {
    return this.#reader.nextId(afterId);
  }

  get extras(): readonly string[] {
    return this.#reader.extras;
  }

  read(afterId: number, limit: number, untilId?: number): Promise<ColumnarBatch> {
    try {
      return Promise.resolve(this.#reader.read(afterId, limit, untilId));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  reset(): void {}
}

/** Options of {@link ReaderFactory}. */
export interface ReaderFactoryOptions {
  /** The main connection to the sensor database. */
  readonly db: Database.Database;
  /** Its path, which the workers open read-only. */
  readonly path: string;
  /** Reader threads for every stage (`--read-threads`; 0 = main thread); undefined = by stage, see `reader`. */
  readonly threads: number | undefined;
  /** Kernels the pool's workers load (`--kernels`). */
  readonly impl: KernelImpl;
}

/** Worker threads when `--read-threads` is not given: both cores of a small edge node. */
export const DEFAULT_READ_THREADS = Math.min(2, availableParallelism());

/**
 * Worker threads reading for a stage that runs on the main thread (aggregated) when
 * `--read-threads` is not given: one. The main thread scores, aggregates and routes alerts on
 * the other core, and one reader keeps well ahead of it; a second only competes with it for that
 * core and fills a second malloc arena with batches. Measured, 1M rows on 2 cores, alternating
 * runs: 2.17–2.47 s against 2.53–2.80 s, 3.2–3.7 CPU-s against 4.2–4.3; at 10M rows peak RSS
 * 283–289 MB against 335–336.
 */
export const DEFAULT_STAGE_READERS = 1;

/**
 * What the run has its workers do now: run whole batches of a row stage (ingestion, validated,
 * enriched), or read batches for a stage that runs on the main thread.
 */
export type WorkerUse = 'row-stages' | 'reads';

/**
 * Fewer ids than this are not worth a worker: a batch of a read-bound stage this small is read on
 * the main thread, and a `--once` run whose whole backlog is this small runs its row stage here
 * without starting the pool (starting two workers costs ≈ 0.2 s and 0.3 CPU-s, more than these
 * rows take on one thread).
 */
export const MIN_POOLED_IDS = 8192;

/** Makes the run's readers, all sharing one worker pool that starts on first use and stops at close. */
export class ReaderFactory {
  readonly #opts: ReaderFactoryOptions;
  #pool: Promise<KernelPool> | null = null;
  /** The pool once it is open (for the threads it started). */
  #opened: KernelPool | null = null;
  /**
   * The sensor database as every worker task names it: its path, and the file that path named
   * when the run opened it (types.ts DbFile), which the workers insist on.
   */
  readonly source: { readonly db: string; readonly dbFile: DbFile };

  constructor(opts: ReaderFactoryOptions) {
    this.source = { db: opts.path, dbFile: fileIdentity(opts.path) };
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 0)) throw new RangeError(`reader threads must be an integer ≥ 0, got ${opts.threads}`);
    this.#opts = opts;
  }

  /**
   * A reader of `columns` (default all); it keeps the timestamp text only when `columns` names
   * it. `readBound` stages (Stage.readBound) read large batches with worker threads unless
   * `--read-threads 0`; the others only with an explicit `--read-threads N`.
   */
  reader(columns?: readonly ColumnName[], readBound = false, extras: readonly string[] = []): BatchReader {
    const { db, path, impl } = this.#opts;
    const threads = this.#opts.threads ?? (readBound ? this.threadsFor('reads') : 0);
    const keepTimestampText = columns === undefined || columns.includes('timestamp');
    if (threads === 0) return new MainThreadReader(new SensorReader({ db, columns, extras, keepTimestampText }));
    return new PooledReader({ db, path, file: this.source.dbFile, pool: () => this.pool('reads'), columns, extras, keepTimestampText, parts: threads });
  }

  /**
   * Worker threads for `use`: `--read-threads` when given (0 = everything on the main thread),
   * else {@link DEFAULT_READ_THREADS} to run row-stage batches and {@link DEFAULT_STAGE_READERS}
   * to read for a stage that runs on the main thread (aggregated).
   */
  threadsFor(use: WorkerUse = 'row-stages'): number {
    return this.#opts.threads ?? (use === 'reads' ? Math.min(DEFAULT_STAGE_READERS, DEFAULT_READ_THREADS) : DEFAULT_READ_THREADS);
  }

  /** Worker threads started so far (0 until the pool is first used). */
  get started(): number {
    return this.#opened?.threads ?? (this.#pool ? this.threadsFor() : 0);
  }

  /**
   * True when work may go to the workers without a second thought: they are running, or the
   * operator asked for them (`--read-threads N`, N > 0). Otherwise starting them is a choice
   * worth making only for enough rows (MIN_POOLED_IDS).
   */
  workersAtHand(): boolean {
    return this.threadsFor() > 0 && (this.#pool !== null || this.#opts.threads !== undefined);
  }

  /**
   * The run's worker pool, started on first use with the threads `use` needs and room for the
   * row stages' (a follower may switch to one: its other worker then starts with its first
   * batch). With `use`, the pool lets in as many tasks as that use needs from now on: one at a
   * time when reading for the main thread (so one thread does it), two per thread for row stages
   * (a batch running and the next queued); `--read-threads N` always two per thread. Without
   * `use` (alert lookups) the pool is taken as it is.
   */
  pool(use?: WorkerUse): Promise<KernelPool> {
    const max = this.threadsFor('row-stages');
    if (!this.#pool) {
      const pool = KernelPool.open({ threads: max, warmThreads: this.threadsFor(use), impl: this.#opts.impl });
      this.#pool = pool;
      pool.then((p) => (this.#opened = p)).catch(() => {});
    }
    if (!use) return this.#pool;
    const inFlight = this.#opts.threads === undefined && use === 'reads' ? this.threadsFor('reads') : 2 * max;
    return this.#pool.then((p) => {
      p.allow(inFlight);
      return p;
    });
  }

  /** Stops the workers, if they were started. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    this.#opened = null;
    if (pool) await (await pool).close();
  }
}
