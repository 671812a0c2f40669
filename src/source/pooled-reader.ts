import type Database from 'better-sqlite3';
import { availableParallelism } from 'node:os';
import type { ColumnarBatch } from '../batch.ts';
import { KernelPool, type ReadPart } from '../pool/kernel-pool.ts';
import type { KernelImpl } from '../kernels/types.ts';
import { SensorReader } from './reader.ts';
import type { ColumnName } from './schema.ts';

/** What the runner reads batches through: on the main thread, or by worker threads. */
export interface BatchReader {
  /** The columns each batch holds, in table order. */
  readonly columns: readonly ColumnName[];
  /** Largest id in the table (0 when empty). */
  maxId(): number;
  /** Up to `limit` rows with afterId < id ≤ untilId, in id order (same contract as SensorReader.read). */
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
  /** The worker pool, started on first use (a run that only ever sees small batches never starts it). */
  readonly pool: () => Promise<KernelPool>;
  /** Columns to read (`id` and `timestamp` are always read). Default: all 27. */
  readonly columns?: readonly ColumnName[];
  /** Keep the timestamp text as stored. Default true. */
  readonly keepTimestampText?: boolean;
  /** Parts a batch is cut into, one task each: the pool's thread count. Default 2. */
  readonly parts?: number;
  /** Batches of fewer rows than this are read on the main thread. Default 8192. */
  readonly minPooledRows?: number;
}

/**
 * Reads batches with worker threads, each reading a disjoint id range of the batch over its own
 * connection (shared/PERFORMANCE.md: row materialisation bounds the pipeline, and two readers
 * nearly double it), and reads the next batch ahead while the current one is processed and
 * uploaded. Batch boundaries are the same as SensorReader's (`limit` rows after `afterId`), cut
 * on the main connection from the rowid index alone, so replays and keys do not depend on
 * whether a batch was read here or on the main thread.
 */
export class PooledReader implements BatchReader {
  readonly #main: SensorReader;
  readonly #path: string;
  readonly #pool: () => Promise<KernelPool>;
  readonly #keepTs: boolean;
  readonly #minPooledRows: number;
  readonly #extent: Database.Statement;
  readonly #nthId: Database.Statement;
  readonly #parts: number;
  /** At most one batch read ahead: the one that follows the last batch handed out. */
  #ahead: { afterId: number; limit: number; lastId: number; batch: Promise<ColumnarBatch> } | null = null;

  constructor(opts: PooledReaderOptions) {
    this.#keepTs = opts.keepTimestampText ?? true;
    this.#main = new SensorReader({ db: opts.db, columns: opts.columns, keepTimestampText: this.#keepTs });
    this.#path = opts.path;
    this.#pool = opts.pool;
    this.#minPooledRows = opts.minPooledRows ?? 8192;
    this.#parts = opts.parts ?? 2;
    if (!(Number.isInteger(this.#parts) && this.#parts >= 1)) throw new RangeError(`PooledReader parts must be an integer ≥ 1, got ${this.#parts}`);
    // Both walk the rowid b-tree only (no row is decoded): a few ms per 50k rows.
    this.#extent = opts.db.prepare('SELECT count(*) AS n, max(id) AS last FROM (SELECT id FROM sensor_readings WHERE id > ? AND id <= ? ORDER BY id LIMIT ?)');
    this.#nthId = opts.db.prepare('SELECT id FROM sensor_readings WHERE id > ? ORDER BY id LIMIT 1 OFFSET ?').pluck();
  }

  get columns(): readonly ColumnName[] {
    return this.#main.columns;
  }

  maxId(): number {
    return this.#main.maxId();
  }

  read(afterId: number, limit: number, untilId = Number.MAX_SAFE_INTEGER): Promise<ColumnarBatch> {
    const ahead = this.#ahead;
    this.#ahead = null;
    if (ahead && ahead.afterId === afterId && ahead.limit === limit && untilId === Number.MAX_SAFE_INTEGER) {
      // Keep the workers busy: the batch after this one is queued before this one is even done.
      this.#readAhead(ahead.lastId, limit);
      return ahead.batch;
    }
    ahead?.batch.catch(() => {});
    const { batch, lastId } = this.#start(afterId, limit, untilId);
    if (lastId > afterId) this.#readAhead(lastId, limit);
    return batch;
  }

  reset(): void {
    this.#ahead?.batch.catch(() => {});
    this.#ahead = null;
  }

  /** Starts the read of the batch after `lastId`, when a whole batch is already there to read. */
  #readAhead(lastId: number, limit: number): void {
    // Only whole batches big enough for the workers: a small one is cheaper read when asked for.
    if (this.#ahead || limit < this.#minPooledRows || this.maxId() - lastId < limit) return;
    const next = this.#start(lastId, limit, Number.MAX_SAFE_INTEGER);
    next.batch.catch(() => {}); // an error surfaces when (if) this batch is asked for
    this.#ahead = { afterId: lastId, limit, lastId: next.lastId, batch: next.batch };
  }

  #start(afterId: number, limit: number, untilId: number): { batch: Promise<ColumnarBatch>; lastId: number } {
    if (!Number.isInteger(limit) || limit <= 0) throw new RangeError(`read: limit must be a positive integer, got ${limit}`);
    const { n, last } = this.#extent.get(afterId, untilId, limit) as { n: number; last: number | bigint | null };
    const lastId = last === null ? afterId : Number(last);
    if (n < this.#minPooledRows) {
      try {
        return { batch: Promise.resolve(this.#main.read(afterId, limit, untilId)), lastId };
      } catch (err) {
        return { batch: Promise.reject(err), lastId };
      }
    }
    // One part per worker, cut at row counts (not id spans) so sparse ids cost no memory.
    const parts: ReadPart[] = [];
    const per = Math.ceil(n / this.#parts);
    let from = afterId;
    for (let taken = 0; taken < n; taken += per) {
      const rows = Math.min(per, n - taken);
      const until = taken + rows >= n ? lastId : Number(this.#nthId.get(afterId, taken + rows - 1));
      parts.push({ afterId: from, untilId: until, rows });
      from = until;
    }
    const batch = this.#pool().then((pool) => pool.readColumns({ db: this.#path, parts, columns: this.#main.columns, keepTimestampText: this.#keepTs }));
    return { batch, lastId };
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

/** Reader threads of a read-bound stage when `--read-threads` is not given: both cores of a small edge node. */
export const DEFAULT_READ_THREADS = Math.min(2, availableParallelism());

/** Makes the run's readers, all sharing one worker pool that starts on first use and stops at close. */
export class ReaderFactory {
  readonly #opts: ReaderFactoryOptions;
  #pool: Promise<KernelPool> | null = null;

  constructor(opts: ReaderFactoryOptions) {
    if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 0)) throw new RangeError(`reader threads must be an integer ≥ 0, got ${opts.threads}`);
    this.#opts = opts;
  }

  /**
   * A reader of `columns` (default all); it keeps the timestamp text only when `columns` names
   * it. `readBound` stages (Stage.readBound) read large batches with worker threads unless
   * `--read-threads 0`; the others only with an explicit `--read-threads N`.
   */
  reader(columns?: readonly ColumnName[], readBound = false): BatchReader {
    const { db, path, impl } = this.#opts;
    const threads = this.#opts.threads ?? (readBound ? DEFAULT_READ_THREADS : 0);
    const keepTimestampText = columns === undefined || columns.includes('timestamp');
    if (threads === 0) return new MainThreadReader(new SensorReader({ db, columns, keepTimestampText }));
    // One pool per run, sized by the first reader that needs it.
    const pool = () => (this.#pool ??= KernelPool.open({ threads, impl }));
    return new PooledReader({ db, path, pool, columns, keepTimestampText, parts: threads });
  }

  /** Stops the workers, if they were started. */
  async close(): Promise<void> {
    const pool = this.#pool;
    this.#pool = null;
    if (pool) await (await pool).close();
  }
}
