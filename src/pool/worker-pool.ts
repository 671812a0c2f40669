/**
 * The plumbing every worker pool of edgelake shares, whatever its tasks: a piscina pool of up to
 * `threads` threads running one worker file, started with only the module-loading Node options
 * (exec-argv.ts), its first `warmThreads` warmed up with one `load` task each so the first real
 * task does not pay for compiling the kernels, and bounded: at most `maxInFlight` tasks are
 * queued or running, further callers wait (back-pressure) so a fast producer cannot pile
 * unbounded copies of its batches in memory. More threads than the warm ones start only when
 * more tasks than those threads are let in at once ({@link WorkerPool.allow}), and then stay.
 * What a task is, and what crosses the thread boundary, is the business of the pool built on it
 * (KernelPool here; the bench pool in bench/pool/).
 */
import { cpus } from 'node:os';
import { Piscina } from 'piscina';
import type { KernelImpl } from '../kernels/types.ts';
import { workerExecArgv } from './exec-argv.ts';
import { errorOf, isTaskFailure } from './failure.ts';

/** Every task names its kind and the kernel implementation the worker runs it with. */
export interface WorkerTask {
  readonly kernel: string;
  readonly impl: KernelImpl;
}

/** The task each worker file answers by loading its kernels (see thread.ts); the pool sends one per thread at open. */
export interface LoadTask {
  readonly kernel: 'load';
  readonly impl: KernelImpl;
}

/** Options of WorkerPool.open. */
export interface WorkerPoolOptions {
  /** Name of the pool in error messages ("KernelPool threads must be …"). */
  readonly name: string;
  /** The worker file: a module exporting `run(task)` (see thread.ts); TypeScript when running from sources. */
  readonly worker: URL;
  /** Worker threads at most; default the number of CPUs. */
  readonly threads?: number;
  /** Threads started and warmed at open (1 … threads); default all of them. */
  readonly warmThreads?: number;
  /** Kernel implementation the workers run; default 'wasm'. */
  readonly impl?: KernelImpl;
  /** Tasks queued or running at once before callers wait; default 2 × threads (see {@link WorkerPool.allow}). */
  readonly maxInFlight?: number;
}

/**
 * A bounded pool of worker threads running `T` tasks; `R` maps each task kind to what its worker
 * returns. See the file comment for start-up and back-pressure.
 */
export class WorkerPool<T extends WorkerTask, R extends { [K in T['kernel']]: unknown }> {
  readonly #piscina: Piscina;
  readonly #impl: KernelImpl;
  #maxInFlight: number;
  #inFlight = 0;
  #waiters: Array<() => void> = [];
  #tasks = 0;

  private constructor(piscina: Piscina, impl: KernelImpl, maxInFlight: number) {
    this.#piscina = piscina;
    this.#impl = impl;
    this.#maxInFlight = maxInFlight;
  }

  /** Starts the workers and waits until each has loaded its kernels. Rejects with a RangeError naming a bad option. */
  static async open<T extends WorkerTask, R extends { [K in T['kernel']]: unknown }>(options: WorkerPoolOptions): Promise<WorkerPool<T, R>> {
    const { name, worker } = options;
    const threads = options.threads ?? Math.max(1, cpus().length);
    const warm = options.warmThreads ?? threads;
    const impl = options.impl ?? 'wasm';
    const maxInFlight = options.maxInFlight ?? 2 * threads;
    if (!(Number.isInteger(threads) && threads >= 1)) throw new RangeError(`${name} threads must be an integer ≥ 1, got ${threads}`);
    if (!(Number.isInteger(warm) && warm >= 1 && warm <= threads)) throw new RangeError(`${name} warmThreads must be an integer from 1 to threads (${threads}), got ${warm}`);
    if (impl !== 'wasm' && impl !== 'ts') throw new RangeError(`${name} impl must be wasm or ts, got ${String(impl)}`);
    if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`${name} maxInFlight must be an integer ≥ 1, got ${maxInFlight}`);
    const piscina = new Piscina({
      filename: worker.href,
      name: 'run',
      minThreads: warm,
      maxThreads: threads,
      // A thread started beyond the warm ones (more tasks let in, see allow) stays for the run.
      idleTimeout: Infinity,
      // Unbounded here: the in-flight gate (#send) bounds what is queued, and allow() may raise it.
      maxQueue: Infinity,
      // Under tsx the worker is TypeScript: make sure the loader is active in the worker threads too.
      execArgv: workerExecArgv(worker.pathname),
      atomics: 'disabled',
      // A worker's garbage is short-lived (one batch's strings): a small young generation keeps it
      // from piling tens of MB per thread on a node whose whole budget is ~300 MB.
      resourceLimits: { maxYoungGenerationSizeMb: 8 },
    });
    const pool = new WorkerPool<T, R>(piscina, impl, maxInFlight);
    try {
      await Promise.all(Array.from({ length: warm }, () => pool.#send({ kernel: 'load', impl }, [])));
    } catch (err) {
      await piscina.close();
      throw err;
    }
    return pool;
  }

  /** Worker threads started so far. */
  get threads(): number {
    return this.#piscina.threads.length;
  }

  /**
   * Lets up to `maxInFlight` tasks be queued or running at once from now on. piscina starts a
   * thread (up to `threads`) only when a task finds every started one busy, so a pool held to one
   * task at a time runs on one thread, and raising the limit lets the others start when needed.
   */
  allow(maxInFlight: number): void {
    if (!(Number.isInteger(maxInFlight) && maxInFlight >= 1)) throw new RangeError(`maxInFlight must be an integer ≥ 1, got ${maxInFlight}`);
    this.#maxInFlight = maxInFlight;
    // Callers waiting for a slot re-check the limit when they wake, so waking a few too many is harmless.
    for (let free = this.#maxInFlight - this.#inFlight; free > 0 && this.#waiters.length > 0; free--) this.#waiters.shift()!();
  }

  /** The kernel implementation the workers run. */
  get impl(): KernelImpl {
    return this.#impl;
  }

  /** Tasks queued or running now. */
  get inFlight(): number {
    return this.#inFlight;
  }

  /** Tasks completed since open (the warm-up tasks not counted). */
  get completed(): number {
    return this.#tasks;
  }

  /**
   * Runs one task, waiting first while `maxInFlight` tasks are queued or running. The buffers in
   * `transferList` move to the worker (the caller's views of them are detached afterwards).
   */
  async run<U extends T>(task: U, transferList: readonly ArrayBuffer[] = []): Promise<R[U['kernel']]> {
    return (await this.#send(task, transferList)) as R[U['kernel']];
  }

  /** Waits for running tasks, then stops the workers. */
  async close(): Promise<void> {
    await this.#piscina.close();
  }

  async #send(task: WorkerTask, transferList: readonly ArrayBuffer[]): Promise<unknown> {
    while (this.#inFlight >= this.#maxInFlight) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#inFlight++;
    try {
      return await this.#piscina.run(task, { name: 'run', transferList: [...transferList] });
    } catch (err) {
      throw isTaskFailure(err) ? errorOf(err.failed) : err;
    } finally {
      this.#inFlight--;
      if (task.kernel !== 'load') this.#tasks++;
      this.#waiters.shift()?.();
    }
  }
}
