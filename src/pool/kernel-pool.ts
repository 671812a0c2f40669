/**
 * A piscina pool of kernel workers. Each call splits its batch into tasks of at least
 * `taskRows` rows (dispatch costs 55–180 µs, so smaller tasks waste the threads), copies each
 * slice into fresh buffers that are transferred (never cloned) to a worker, and reassembles the
 * results. A caller that no longer needs its columns passes `{ transfer: true }`: a batch that
 * fits one task then moves to the worker without any copy. `readAggregate` lets the workers read
 * their own id ranges of the database, so the main thread does neither reading nor copying.
 * At most `maxInFlight` tasks are queued or running; further tasks wait (back-pressure) so a
 * fast reader cannot pile unbounded copies of its batches in memory.
 */
import { cpus } from 'node:os';
import { Piscina } from 'piscina';
import { unpackPartials } from '../kernels/partial.ts';
import { DEFAULT_LIMITS, DEFAULT_WINDOW_MS } from '../kernels/types.ts';
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits, WindowPartial } from '../kernels/types.ts';
import type { ColumnarBatch } from '../batch.ts';
import { concatBatches } from '../source/concat.ts';
import type { ColumnName } from '../source/schema.ts';
import { PartialMerger, SensorSlots } from './merge.ts';
import { workerExecArgv } from './exec-argv.ts';
import { reviveBatch } from './read-columns.ts';
import type { PoolResult, PoolTask, StageTask } from './types.ts';
import { errorOf, type StageResult } from './stage-run.ts';

/** Options of KernelPool.open. */
export interface KernelPoolOptions {
  /** Worker threads; default the number of CPUs. */
  readonly threads?: number;
  /** Kernel implementation the workers run; default 'wasm'. */
  readonly impl?: KernelImpl;
  /** Rows per task (≥ 1); default 250 000. */
  readonly taskRows?: number;
  /** Tasks queued or running at once before callers wait; default 2 × threads. */
  readonly maxInFlight?: number;
}

/** Per-call options of the KernelPool kernels. */
export interface CallOptions {
  /**
   * The caller gives up the input's buffers: when the batch is one task (fewer than 2 × taskRows
   * rows) they are transferred to the worker as they are, and the caller's arrays
   * are detached (length 0) afterwards. A batch split over several tasks is still sliced (copied).
   * Shared inputs (fuzz `seeds`) are never transferred. Default false.
   */
  readonly transfer?: boolean;
}

/** Options of KernelPool.readAggregate. */
export interface ReadAggregateOptions {
  /** Path of the sensor database; each worker opens it read-only. */
  readonly db: string;
  /** Rows with afterId < id ≤ untilId are read (integers). */
  readonly afterId: number;
  readonly untilId: number;
  /** Tumbling window length, ms; default DEFAULT_WINDOW_MS (5 min). */
  readonly windowMs?: number;
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
  /** Consecutive id ranges in ascending order, one task each. */
  readonly parts: readonly ReadPart[];
  /** Columns to read (`id` and `timestamp` are always read). */
  readonly columns: readonly ColumnName[];
  /** Columns outside the contract, read as stored (ingestion). Default none. */
  readonly extras?: readonly string[];
  /** Keep the timestamp text as stored. Default true. */
  readonly keepTimestampText?: boolean;
}

/** Result of KernelPool.readAggregate. */
export interface ReadAggregateResult {
  /** Merged partials; `slot` indexes `sensorIds`. */
  readonly partials: WindowPartial[];
  /** sensor_id per slot (null for rows whose sensor_id is NULL). */
  readonly sensorIds: readonly (string | null)[];
  /** Rows read. */
  readonly rows: number;
}

/** Defaults of KernelPoolOptions (threads resolved at open). */
export const DEFAULT_POOL_OPTIONS = Object.freeze({ impl: 'wasm' as KernelImpl, taskRows: 250_000 });

const workerUrl = new URL('./worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);

/** A pool of kernel workers; see the file comment for splitting and back-pressure. */
export class KernelPool {
  readonly #piscina: Piscina;
  readonly #impl: KernelImpl;
  readonly #taskRows: number;
  readonly #maxInFlight: number;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #tasks = 0;

  private constructor(piscina: Piscina, impl: KernelImpl, taskRows: number, maxInFlight: number) {
    this.#piscina = piscina;
    this.#impl = impl;
    this.#taskRows = taskRows;
    this.#maxInFlight = maxInFlight;
  }

  /** Starts the workers and waits until they can take tasks. */
  static async open(options: KernelPoolOptions = {}): Promise<KernelPool> {
    const threads = options.threads ?? Math.max(1, cpus().length);
    const impl = options.impl ?? DEFAULT_POOL_OPTIONS.impl;
    const taskRows = options.taskRows ?? DEFAULT_POOL_OPTIONS.taskRows;
    const maxInFlight = options.maxInFlight ?? 2 * threads;
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`KernelPool threads must be an integer ≥ 1, got ${threads}`);
    if (impl !== 'wasm' && impl !== 'ts') throw new RangeError(`KernelPool impl must be wasm or ts, got ${String(impl)}`);
    if (!(Number.isInteger(taskRows) && taskRows >= 1)) throw new RangeError(`KernelPool taskRows must be an integer ≥ 1, got ${taskRows}`);
    if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`KernelPool maxInFlight must be an integer ≥ 1, got ${maxInFlight}`);
    // Under tsx the worker is TypeScript: make sure the loader is active in the worker threads too.
    const execArgv = workerExecArgv(workerUrl.pathname);
    const piscina = new Piscina({
      filename: workerUrl.href,
      name: 'run',
      minThreads: threads,
      maxThreads: threads,
      maxQueue: maxInFlight,
      execArgv,
      atomics: 'disabled',
      // A worker's garbage is short-lived (one batch's strings): a small young generation keeps it
      // from piling tens of MB per thread on a node whose whole budget is ~300 MB.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const pool = new KernelPool(piscina, impl, taskRows, maxInFlight);
    // One empty task per thread loads the kernels up front, so the first real batch is not slowed down.
    const empty = new Float64Array(0);
    await Promise.all(
      Array.from({ length: threads }, () =>
        pool.#run('validate', { kernel: 'validate', impl, input: { eventMs: empty, metrics: [empty, empty, empty, empty, empty], latitude: empty, longitude: empty, statusCode: empty, anomalyFlag: empty, nowMs: 0 }, limits: DEFAULT_LIMITS }),
      ),
    );
    return pool;
  }

  /** Worker threads. */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /** Tasks queued or running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Tasks completed since open. */
  get completed(): number {
    return this.#tasks;
  }

  /** Window partials of the batch, merged across its tasks, in order of first appearance. */
  async aggregate(input: AggregateInput, windowMs: number, options: CallOptions = {}): Promise<WindowPartial[]> {
    const slices = this.#slices(input.id.length);
    const cut = cutter(slices, options);
    const packed = await Promise.all(
      slices.map(([s, e]) =>
        this.#run('aggregate', {
          kernel: 'aggregate',
          impl: this.#impl,
          windowMs,
          input: { id: cut(input.id, s, e), eventMs: cut(input.eventMs, s, e), slot: cut(input.slot, s, e), metrics: input.metrics.map((c) => cut(c, s, e)), score: cut(input.score, s, e), isAnomaly: cut(input.isAnomaly, s, e) },
        }),
      ),
    );
    if (packed.length === 1) return unpackPartials(packed[0]);
    const merger = new PartialMerger();
    for (const p of packed) merger.add(unpackPartials(p));
    return merger.partials;
  }

  /**
   * Workers read rows afterId < id ≤ untilId of the sensor database themselves, in id ranges of
   * `taskRows` ids, and aggregate them; the main thread only merges partials. Rejects on a bad
   * range (RangeError) or a database the worker cannot read.
   */
  async readAggregate(options: ReadAggregateOptions): Promise<ReadAggregateResult> {
    const { db, afterId, untilId, windowMs = DEFAULT_WINDOW_MS } = options;
    if (!(Number.isInteger(afterId) && Number.isInteger(untilId) && afterId <= untilId)) {
      throw new RangeError(`readAggregate: need integer ids with afterId ≤ untilId, got ${afterId}..${untilId}`);
    }
    const ranges = this.#slices(untilId - afterId).filter(([s, e]) => e > s);
    const results = await Promise.all(
      ranges.map(([s, e]) => this.#run('readAggregate', { kernel: 'readAggregate', impl: this.#impl, db, afterId: afterId + s, untilId: afterId + e, windowMs })),
    );
    const slots = new SensorSlots();
    const merger = new PartialMerger();
    let rows = 0;
    for (const r of results) {
      merger.add(slots.remap(unpackPartials(r.partials), r.sensorIds));
      rows += r.rows;
    }
    return { partials: merger.partials, sensorIds: slots.sensorIds, rows };
  }

  /**
   * Rows of the sensor database as one ColumnarBatch, read by the workers in parallel: each
   * part (consecutive id ranges, in order) goes to a worker, which reads it over its own
   * read-only connection; the parts are joined in id order. Rejects like SensorReader.read
   * (PipelineError SOURCE_READ_FAILED) or with a RangeError for a malformed part.
   */
  async readColumns(options: ReadColumnsOptions): Promise<ColumnarBatch> {
    const { db, parts, columns, extras = [], keepTimestampText = true } = options;
    if (parts.length === 0) throw new RangeError('readColumns: need at least one part');
    const batches = await Promise.all(
      parts.map((p) => this.#run('readColumns', { kernel: 'readColumns', impl: this.#impl, db, afterId: p.afterId, untilId: p.untilId, limit: p.rows, columns, extras, keepTimestampText })),
    );
    return concatBatches(batches.map(reviveBatch));
  }

  /**
   * A whole batch of a stateless row stage in one worker: it reads `afterId < id ≤ untilId` (at
   * most `limit` rows) over its own read-only connection, runs the stage and returns its finished
   * objects and the batch it read (transferred). Rejects like SensorReader.read or the stage.
   */
  async stage(task: Omit<StageTask, 'kernel' | 'impl'>): Promise<StageResult> {
    const done = await this.#run('stage', { ...task, kernel: 'stage', impl: this.#impl });
    if ('failed' in done) throw errorOf(done.failed);
    const r = done;
    return { batch: reviveBatch(r.batch), output: { ...r.output, objects: r.output.objects.map((o) => ({ ...o, body: Buffer.from(o.body.buffer, o.body.byteOffset, o.body.byteLength) })) } };
  }

  /** Per-row RULE masks of the batch. */
  async validate(input: ValidateInput, limits: ValidationLimits, options: CallOptions = {}): Promise<Uint32Array> {
    const n = input.eventMs.length;
    const out = new Uint32Array(n);
    const slices = this.#slices(n);
    const cut = cutter(slices, options);
    await Promise.all(
      slices.map(async ([s, e]) => {
        const mask = await this.#run('validate', {
          kernel: 'validate',
          impl: this.#impl,
          limits,
          input: { eventMs: cut(input.eventMs, s, e), metrics: input.metrics.map((c) => cut(c, s, e)), latitude: cut(input.latitude, s, e), longitude: cut(input.longitude, s, e), statusCode: cut(input.statusCode, s, e), anomalyFlag: cut(input.anomalyFlag, s, e), nowMs: input.nowMs },
        });
        out.set(mask, s);
      }),
    );
    return out;
  }

  /** Fuzzed positions of the batch. */
  async fuzz(input: FuzzInput, radiusM: number, options: CallOptions = {}): Promise<FuzzOutput> {
    const n = input.slot.length;
    const out = { latitude: new Float64Array(n), longitude: new Float64Array(n), distanceM: new Float64Array(n), fuzzed: new Uint8Array(n) };
    const slices = this.#slices(n);
    const cut = cutter(slices, options);
    await Promise.all(
      slices.map(async ([s, e]) => {
        const r = await this.#run('fuzz', { kernel: 'fuzz', impl: this.#impl, radiusM, input: { latitude: cut(input.latitude, s, e), longitude: cut(input.longitude, s, e), slot: cut(input.slot, s, e), seeds: input.seeds } });
        out.latitude.set(r.latitude, s);
        out.longitude.set(r.longitude, s);
        out.distanceM.set(r.distanceM, s);
        out.fuzzed.set(r.fuzzed, s);
      }),
    );
    return out;
  }

  /** Waits for running tasks, then stops the workers. */
  async close(): Promise<void> {
    await this.#piscina.close();
  }

  /** [start, end) row ranges of the tasks of an n-row batch (one empty range for n = 0). */
  #slices(n: number): Array<[number, number]> {
    const tasks = Math.max(1, Math.floor(n / this.#taskRows));
    const size = Math.ceil(n / tasks);
    return Array.from({ length: tasks }, (_v, t) => [t * size, Math.min(n, (t + 1) * size)] as [number, number]);
  }

  async #run<K extends PoolTask['kernel']>(_kind: K, task: Extract<PoolTask, { kernel: K }>): Promise<PoolResult[K]> {
    while (this.#inFlight >= this.#maxInFlight) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#inFlight++;
    try {
      const transferList = 'input' in task ? transferables(task.input) : [];
      return (await this.#piscina.run(task, { name: 'run', transferList })) as PoolResult[K];
    } finally {
      this.#inFlight--;
      this.#tasks++;
      this.#waiters.shift()?.();
    }
  }
}

type Column = Float64Array | Int32Array | Uint8Array;

/**
 * How a call hands its columns to tasks: a fresh copy of each slice (transferred, so the copy is
 * the only one), or — when the caller gives its buffers up and one task covers the batch — the
 * caller's own arrays, transferred as they are.
 */
function cutter(slices: ReadonlyArray<[number, number]>, options: CallOptions): <T extends Column>(c: T, s: number, e: number) => T {
  if (options.transfer === true && slices.length === 1) return (c) => c;
  return (c, s, e) => c.slice(s, e) as typeof c;
}

/** The buffers of a task input's own (sliced) columns; `seeds` is shared by every task and stays with the caller. */
function transferables(input: object): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const [key, v] of Object.entries(input)) {
    if (key === 'seeds') continue;
    const views: unknown[] = Array.isArray(v) ? v : [v];
    for (const x of views) if (ArrayBuffer.isView(x) && x.buffer instanceof ArrayBuffer && x.byteLength > 0) out.add(x.buffer);
  }
  return [...out];
}
