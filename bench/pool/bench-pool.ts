/**
 * A pool for measuring kernels in worker threads (bench/kernels.bench.ts, pool-read.bench.ts),
 * built on the product's WorkerPool (src/pool/worker-pool.ts: the same thread options, warm-up
 * and in-flight bound) with its own worker file. Each call splits its batch into tasks of at
 * least `taskRows` rows (dispatch costs 55–180 µs, so smaller tasks waste the threads), copies
 * each slice into fresh buffers that are transferred (never cloned) to a worker, and reassembles
 * the results. A caller that no longer needs its columns passes `{ transfer: true }`: a batch
 * that fits one task then moves to the worker without any copy. `readAggregate` lets the workers
 * read their own id ranges of the database, so the main thread does neither reading nor copying.
 */
import { unpackPartials } from './partials.ts';
import { DEFAULT_WINDOW_MS } from '../../src/kernels/types.ts';
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits, WindowPartial } from '../../src/kernels/types.ts';
import { WorkerPool } from '../../src/pool/worker-pool.ts';
import { PartialMerger, SensorSlots } from './merge.ts';
import type { BenchResult, BenchTask } from './types.ts';

/** Options of BenchPool.open. */
export interface BenchPoolOptions {
  /** Worker threads; default the number of CPUs. */
  readonly threads?: number;
  /** Kernel implementation the workers run; default 'wasm'. */
  readonly impl?: KernelImpl;
  /** Rows per task (≥ 1); default 250 000. */
  readonly taskRows?: number;
  /** Tasks queued or running at once before callers wait; default 2 × threads. */
  readonly maxInFlight?: number;
}

/** Per-call options of the BenchPool kernels. */
export interface CallOptions {
  /**
   * The caller gives up the input's buffers: when the batch is one task (fewer than 2 × taskRows
   * rows) they are transferred to the worker as they are, and the caller's arrays
   * are detached (length 0) afterwards. A batch split over several tasks is still sliced (copied).
   * Shared inputs (fuzz `seeds`) are never transferred. Default false.
   */
  readonly transfer?: boolean;
}

/** Options of BenchPool.readAggregate. */
export interface ReadAggregateOptions {
  /** Path of the sensor database; each worker opens it read-only. */
  readonly db: string;
  /** Rows with afterId < id ≤ untilId are read (integers). */
  readonly afterId: number;
  readonly untilId: number;
  /** Tumbling window length, ms; default DEFAULT_WINDOW_MS (5 min). */
  readonly windowMs?: number;
}

/** Result of BenchPool.readAggregate. */
export interface ReadAggregateResult {
  /** Merged partials; `slot` indexes `sensorIds`. */
  readonly partials: WindowPartial[];
  /** sensor_id per slot (null for rows whose sensor_id is NULL). */
  readonly sensorIds: readonly (string | null)[];
  /** Rows read. */
  readonly rows: number;
}

/** Rows per task unless BenchPoolOptions.taskRows says otherwise. */
export const DEFAULT_TASK_ROWS = 250_000;

const workerUrl = new URL('./worker.ts', import.meta.url);

/** A pool of kernel workers for benchmarks; see the file comment for splitting and transfer. */
export class BenchPool {
  readonly #pool: WorkerPool<BenchTask, BenchResult>;
  readonly #taskRows: number;

  private constructor(pool: WorkerPool<BenchTask, BenchResult>, taskRows: number) {
    this.#pool = pool;
    this.#taskRows = taskRows;
  }

  /** Starts the workers and waits until they can take tasks. Rejects with a RangeError naming a bad option. */
  static async open(options: BenchPoolOptions = {}): Promise<BenchPool> {
    const { taskRows = DEFAULT_TASK_ROWS, ...rest } = options;
    if (!(Number.isInteger(taskRows) && taskRows >= 1)) throw new RangeError(`BenchPool taskRows must be an integer ≥ 1, got ${taskRows}`);
    return new BenchPool(await WorkerPool.open<BenchTask, BenchResult>({ ...rest, name: 'BenchPool', worker: workerUrl }), taskRows);
  }

  /** Worker threads. */
  get threads(): number {
    return this.#pool.threads;
  }

  /** Tasks queued or running now. */
  get inFlight(): number {
    return this.#pool.inFlight;
  }

  /** Tasks completed since open. */
  get completed(): number {
    return this.#pool.completed;
  }

  /** Window partials of the batch, merged across its tasks, in order of first appearance. */
  async aggregate(input: AggregateInput, windowMs: number, options: CallOptions = {}): Promise<WindowPartial[]> {
    const slices = this.#slices(input.id.length);
    const cut = cutter(slices, options);
    const impl = this.#pool.impl;
    const packed = await Promise.all(
      slices.map(([s, e]) =>
        this.#run({
          kernel: 'aggregate',
          impl,
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
    const impl = this.#pool.impl;
    const ranges = this.#slices(untilId - afterId).filter(([s, e]) => e > s);
    const results = await Promise.all(ranges.map(([s, e]) => this.#run({ kernel: 'readAggregate', impl, db, afterId: afterId + s, untilId: afterId + e, windowMs })));
    const slots = new SensorSlots();
    const merger = new PartialMerger();
    let rows = 0;
    for (const r of results) {
      merger.add(slots.remap(unpackPartials(r.partials), r.sensorIds));
      rows += r.rows;
    }
    return { partials: merger.partials, sensorIds: slots.sensorIds, rows };
  }

  /** Per-row RULE masks of the batch. */
  async validate(input: ValidateInput, limits: ValidationLimits, options: CallOptions = {}): Promise<Uint32Array> {
    const n = input.eventMs.length;
    const out = new Uint32Array(n);
    const slices = this.#slices(n);
    const cut = cutter(slices, options);
    const impl = this.#pool.impl;
    await Promise.all(
      slices.map(async ([s, e]) => {
        const mask = await this.#run({
          kernel: 'validate',
          impl,
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
    const impl = this.#pool.impl;
    await Promise.all(
      slices.map(async ([s, e]) => {
        const r = await this.#run({ kernel: 'fuzz', impl, radiusM, input: { latitude: cut(input.latitude, s, e), longitude: cut(input.longitude, s, e), slot: cut(input.slot, s, e), seeds: input.seeds } });
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
    await this.#pool.close();
  }

  /** [start, end) row ranges of the tasks of an n-row batch (one empty range for n = 0). */
  #slices(n: number): Array<[number, number]> {
    const tasks = Math.max(1, Math.floor(n / this.#taskRows));
    const size = Math.ceil(n / tasks);
    return Array.from({ length: tasks }, (_v, t) => [t * size, Math.min(n, (t + 1) * size)] as [number, number]);
  }

  /** One task, its input's own columns transferred. */
  #run<U extends BenchTask>(task: U): Promise<BenchResult[U['kernel']]> {
    return this.#pool.run(task, 'input' in task ? transferables(task.input) : []);
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
