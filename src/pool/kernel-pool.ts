/**
 * The product's worker pool (a WorkerPool, see worker-pool.ts, running worker.ts): workers read
 * id ranges of the sensor database over their own read-only connections (readColumns, for
 * PooledReader) or read one and run a whole row stage on it (stage, for the runner), and hand
 * back columns and finished bodies transferred, not copied; they also build the alert records of
 * rows the alert path must look up by id (alertRecords). The main thread keeps control,
 * ordering and commits. Benchmarks of kernels in workers have their own pool in bench/pool/.
 */
import type { ColumnarBatch } from '../batch.ts';
import type { KernelImpl } from '../kernels/types.ts';
import { concatBatches } from '../source/concat.ts';
import type { ColumnName } from '../source/schema.ts';
import { reviveBatch } from './read-columns.ts';
import type { StageResult } from './stage-run.ts';
import type { AlertRecordsResult, AlertRecordsTask, DbFile, PoolResult, PoolTask, StageTask } from './types.ts';
import { WorkerPool } from './worker-pool.ts';

/** Options of KernelPool.open. */
export interface KernelPoolOptions {
  /** Worker threads at most; default the number of CPUs. */
  readonly threads?: number;
  /** Threads started and warmed at open; default all of them (the others start when more tasks are allowed, see allow). */
  readonly warmThreads?: number;
  /** Kernel implementation the workers run; default 'wasm'. */
  readonly impl?: KernelImpl;
  /** Tasks queued or running at once before callers wait; default 2 × threads. */
  readonly maxInFlight?: number;
}

/** One worker's share of a KernelPool.readColumns call: rows afterId < id ≤ untilId, `rows` of them at most. */
export interface ReadPart {
  readonly afterId: number;
  readonly untilId: number;
  /** Rows in the range (the worker allocates exactly this much; sparse ids cost nothing). */
  readonly rows: number;
}

/** Options of KernelPool.readColumns. */
export interface ReadColumnsOptions {
  /** Path of the sensor database; each worker opens it read-only. */
  readonly db: string;
  /** The file `db` must name (types.ts DbFile). */
  readonly dbFile?: DbFile;
  /** Consecutive id ranges in ascending order, one task each. */
  readonly parts: readonly ReadPart[];
  /** Columns to read (`id` and `timestamp` are always read). */
  readonly columns: readonly ColumnName[];
  /** Columns outside the contract, read as stored (ingestion). Default none. */
  readonly extras?: readonly string[];
  /** Keep the timestamp text as stored. Default true. */
  readonly keepTimestampText?: boolean;
}

const workerUrl = new URL('./worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);

/** The product's pool of workers; see the file comment. */
export class KernelPool {
  readonly #pool: WorkerPool<PoolTask, PoolResult>;

  private constructor(pool: WorkerPool<PoolTask, PoolResult>) {
    this.#pool = pool;
  }

  /** Starts the workers and waits until they can take tasks. Rejects with a RangeError naming a bad option. */
  static async open(options: KernelPoolOptions = {}): Promise<KernelPool> {
    return new KernelPool(await WorkerPool.open<PoolTask, PoolResult>({ ...options, name: 'KernelPool', worker: workerUrl }));
  }

  /** Worker threads started so far. */
  get threads(): number {
    return this.#pool.threads;
  }

  /** Lets up to `maxInFlight` tasks be queued or running at once (WorkerPool.allow: one at a time keeps one thread). */
  allow(maxInFlight: number): void {
    this.#pool.allow(maxInFlight);
  }

  /** Tasks queued or running now. */
  get inFlight(): number {
    return this.#pool.inFlight;
  }

  /** Tasks completed since open. */
  get completed(): number {
    return this.#pool.completed;
  }

  /**
   * Rows of the sensor database as one ColumnarBatch, read by the workers in parallel: each
   * part (consecutive id ranges, in order) goes to a worker, which reads it over its own
   * read-only connection; the parts are joined in id order. Rejects like SensorReader.read
   * (PipelineError SOURCE_READ_FAILED) or with a RangeError for a malformed part.
   */
  async readColumns(options: ReadColumnsOptions): Promise<ColumnarBatch> {
    const { db, dbFile, parts, columns, extras = [], keepTimestampText = true } = options;
    if (parts.length === 0) throw new RangeError('readColumns: need at least one part');
    const batches = await Promise.all(
      parts.map((p) => this.#pool.run({ kernel: 'readColumns', impl: this.#pool.impl, db, dbFile, afterId: p.afterId, untilId: p.untilId, limit: p.rows, columns, extras, keepTimestampText })),
    );
    return concatBatches(batches.map(reviveBatch));
  }

  /**
   * A whole batch of a stateless row stage in one worker: it reads `afterId < id ≤ untilId` (at
   * most `limit` rows) over its own read-only connection, runs the stage and returns its finished
   * objects and the batch it read (transferred). Rejects like SensorReader.read or the stage.
   */
  async stage(task: Omit<StageTask, 'kernel' | 'impl'>): Promise<StageResult> {
    const r = await this.#pool.run({ ...task, kernel: 'stage', impl: this.#pool.impl });
    return { batch: reviveBatch(r.batch), output: { ...r.output, objects: r.output.objects.map((o) => ({ ...o, body: Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength) })) } };
  }

  /**
   * The alert records of `detections`, built in a worker: it looks their rows up by id over its
   * own read-only connection and encodes them exactly as the main thread would (alerts/record.ts).
   */
  async alertRecords(task: Omit<AlertRecordsTask, 'kernel' | 'impl'>): Promise<AlertRecordsResult> {
    return this.#pool.run({ ...task, kernel: 'alertRecords', impl: this.#pool.impl });
  }

  /** Waits for running tasks, then stops the workers. */
  async close(): Promise<void> {
    await this.#pool.close();
  }
}
