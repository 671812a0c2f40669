/**
 * Stage 5 on a thread of its own. The alert router shares nothing with the stage loop but the
 * files: it opens its own connections and sink in a worker thread (thread-worker.ts), so the
 * main thread's synchronous work — reading a batch, encoding 50k rows, starting gzip — cannot
 * sit between a committed reading and its webhook. On 2 cores that took the p99 from commit to
 * webhook from ~145 ms to tens of ms (bench/alert-latency.bench.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { RunOptions } from '../config.ts';
import type { Logger } from '../log.ts';
import type { BucketStage } from '../sink/key.ts';
import { workerExecArgv } from '../pool/exec-argv.ts';
import type { AlertStats } from './router.ts';

/** What the thread is started with (structured-cloned: plain data only). */
export interface AlertThreadData {
  readonly options: RunOptions;
  readonly nodeId: string;
  readonly version: string;
  readonly buckets: Readonly<Record<BucketStage, string>>;
}

/** Messages to the thread. */
export type ToAlertThread = { readonly kind: 'stop'; readonly drain: boolean };

/** Messages from the thread. */
export type FromAlertThread =
  | { readonly kind: 'started' }
  | { readonly kind: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly msg: string }
  | { readonly kind: 'stopped'; readonly stats: AlertStats };

const workerUrl = new URL('./thread-worker' + (import.meta.url.endsWith('.ts') ? '.ts' : '.js'), import.meta.url);

/** The alert router running in its own worker thread; same start/stop life cycle as AlertRouter. */
export class AlertThread {
  readonly #worker: Worker;
  readonly #done: Promise<AlertStats | null>;
  readonly #started: Promise<void>;

  private constructor(data: AlertThreadData, log: Logger) {
    // Under tsx the worker is TypeScript, entered through a CommonJS file (see thread-entry.cjs).
    const ts = workerUrl.pathname.endsWith('.ts');
    const execArgv = workerExecArgv(workerUrl.pathname);
    // A small young generation: polls are ≤ 10k rows, and the default lets an idle-ish thread keep
    // tens of MB of garbage resident on a node whose whole budget is ~300 MB.
    const resourceLimits = { maxYoungGenerationSizeMb: 8 };
    this.#worker = ts
      ? new Worker(new URL('./thread-entry.cjs', import.meta.url), { workerData: { ...data, entry: fileURLToPath(workerUrl) }, execArgv, resourceLimits })
      : new Worker(workerUrl, { workerData: data, execArgv, resourceLimits });
    let stats: AlertStats | null = null;
    let onStarted!: () => void;
    this.#started = new Promise((resolve) => (onStarted = resolve));
    this.#worker.on('message', (m: FromAlertThread) => {
      if (m.kind === 'log') log[m.level](m.msg);
      else if (m.kind === 'started') onStarted();
      else if (m.kind === 'stopped') stats = m.stats;
    });
    this.#done = new Promise((resolve) => {
      this.#worker.on('error', (err) => log.error(`alerts: the alert thread failed: ${err.message}; alerts resume from their cursor on the next run`));
      this.#worker.on('exit', () => {
        onStarted();
        resolve(stats);
      });
    });
  }

  /** Starts the thread; resolves once its router polls (or the thread has failed, which is logged). */
  static async start(data: AlertThreadData, log: Logger): Promise<AlertThread> {
    const t = new AlertThread(data, log);
    // Its databases may be busy for a while (a writer's long transaction): the data path does not wait for it.
    const slow = setTimeout(() => log.warn('alerts: the alert thread is still starting after 10 s; the pipeline goes on without waiting'), 10_000);
    await Promise.race([t.#started, sleep(10_000, undefined, { ref: false })]);
    clearTimeout(slow);
    return t;
  }

  /**
   * Stops the router (with `drain`: after detecting every row up to the current max id and one
   * last delivery attempt) and waits for the thread to end; resolves with its counters, or
   * null if the thread had failed.
   */
  async stop(opts: { drain: boolean }): Promise<AlertStats | null> {
    this.#worker.postMessage({ kind: 'stop', drain: opts.drain } satisfies ToAlertThread);
    return this.#done;
  }
}
