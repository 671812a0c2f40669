/**
 * A piscina pool of kernel workers. Each call splits its batch into tasks of at least
 * `taskRows` rows (dispatch costs 55–180 µs, so smaller tasks waste the threads), copies each
 * slice into fresh buffers that are transferred (never cloned) to a worker, and reassembles the
 * results. At most `maxInFlight` tasks are queued or running; further tasks wait (back-pressure)
 * so a fast reader cannot pile unbounded copies of its batches in memory.
 */
import { cpus } from 'node:os';
import { Piscina } from 'piscina';
import { mergePartials, unpackPartials } from '../kernels/partial.ts';
import { DEFAULT_LIMITS } from '../kernels/types.ts';
import type { AggregateInput, FuzzInput, FuzzOutput, KernelImpl, ValidateInput, ValidationLimits, WindowPartial } from '../kernels/types.ts';
import type { PoolResult, PoolTask } from './types.ts';

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
    const execArgv = [...process.execArgv];
    if (workerUrl.pathname.endsWith('.ts') && !execArgv.some((a) => a.includes('tsx'))) execArgv.push('--import', 'tsx');
    const piscina = new Piscina({
      filename: workerUrl.href,
      name: 'run',
      minThreads: threads,
      maxThreads: threads,
      maxQueue: maxInFlight,
      execArgv,
      atomics: 'disabled',
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
  async aggregate(input: AggregateInput, windowMs: number): Promise<WindowPartial[]> {
    const n = input.id.length;
    const packed = await Promise.all(
      this.#slices(n).map(([s, e]) =>
        this.#run('aggregate', {
          kernel: 'aggregate',
          impl: this.#impl,
          windowMs,
          input: { id: input.id.slice(s, e), eventMs: input.eventMs.slice(s, e), slot: input.slot.slice(s, e), metrics: input.metrics.map((c) => c.slice(s, e)), score: input.score.slice(s, e), isAnomaly: input.isAnomaly.slice(s, e) },
        }),
      ),
    );
    const parts = packed.map(unpackPartials);
    if (parts.length === 1) return parts[0];
    const byKey = new Map<string, number>();
    const out: WindowPartial[] = [];
    for (const list of parts) {
      for (const p of list) {
        const key = `${p.slot}:${p.windowStartMs}`;
        const k = byKey.get(key);
        if (k === undefined) {
          byKey.set(key, out.length);
          out.push(p);
        } else out[k] = mergePartials(out[k], p);
      }
    }
    return out;
  }

  /** Per-row RULE masks of the batch. */
  async validate(input: ValidateInput, limits: ValidationLimits): Promise<Uint32Array> {
    const n = input.eventMs.length;
    const out = new Uint32Array(n);
    await Promise.all(
      this.#slices(n).map(async ([s, e]) => {
        const mask = await this.#run('validate', {
          kernel: 'validate',
          impl: this.#impl,
          limits,
          input: { eventMs: input.eventMs.slice(s, e), metrics: input.metrics.map((c) => c.slice(s, e)), latitude: input.latitude.slice(s, e), longitude: input.longitude.slice(s, e), statusCode: input.statusCode.slice(s, e), anomalyFlag: input.anomalyFlag.slice(s, e), nowMs: input.nowMs },
        });
        out.set(mask, s);
      }),
    );
    return out;
  }

  /** Fuzzed positions of the batch. */
  async fuzz(input: FuzzInput, radiusM: number): Promise<FuzzOutput> {
    const n = input.slot.length;
    const out = { latitude: new Float64Array(n), longitude: new Float64Array(n), distanceM: new Float64Array(n), fuzzed: new Uint8Array(n) };
    await Promise.all(
      this.#slices(n).map(async ([s, e]) => {
        const r = await this.#run('fuzz', { kernel: 'fuzz', impl: this.#impl, radiusM, input: { latitude: input.latitude.slice(s, e), longitude: input.longitude.slice(s, e), slot: input.slot.slice(s, e), seeds: input.seeds } });
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
      return (await this.#piscina.run(task, { name: 'run', transferList: transferables(task.input) })) as PoolResult[K];
    } finally {
      this.#inFlight--;
      this.#tasks++;
      this.#waiters.shift()?.();
    }
  }
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
