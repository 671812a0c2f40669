import { createHash } from 'node:crypto';
import type { Logger } from '../log.ts';
import type { RunMetrics } from '../ops/metrics.ts';
import { redactUrl } from '../redact.ts';
import type { AlertOutbox } from './outbox.ts';
import { postJson, type PostResult } from './post.ts';

/** Alerts per POST. */
export const WEBHOOK_BATCH = 500;
/** First retry delay, ms; doubles per consecutive failure up to {@link RETRY_MAX_MS}, with jitter in [50 %, 100 %]. */
export const RETRY_BASE_MS = 200;
export const RETRY_MAX_MS = 30_000;
/** Consecutive failures after which the receiver is reported as failing (then at most every {@link REPORT_EVERY_MS}). */
export const REPORT_AFTER = 3;
export const REPORT_EVERY_MS = 30_000;

/** Counters of one receiver. */
export interface WebhookStats {
  readonly delivered: number;
  readonly posts: number;
  readonly failedAttempts: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
  /** Event → delivered latency of the alerts delivered so far, ms (for percentiles; bounded). */
  readonly latencies: readonly number[];
}

/** Latencies kept per receiver for the stats (a ring of the most recent). */
const LATENCY_RING = 4096;

/**
 * Delivers the outbox of one receiver: one POST in flight at a time (so a slow receiver costs one
 * connection, never a pile of them), up to WEBHOOK_BATCH alerts per POST as
 * `{"node_id","count","alert_ids":[…],"alerts":[…]}`, with an `Idempotency-Key` header derived
 * from the alert ids (a retry of the same alerts sends the same key; each alert's `alert_id` is
 * its own idempotency key). Any failure — network, timeout, non-2xx, a redirect — is retried with
 * exponential backoff and jitter on the monotonic clock, so a dead receiver is not hammered and a
 * wall-clock jump changes nothing. The receiver is named by `redactUrl` everywhere: logs, state
 * rows, metrics. Delivery is at least once; receivers dedupe by alert_id.
 */
export class WebhookDelivery {
  /** The receiver's name: scheme, host, port and a hash of the URL (src/redact.ts). */
  readonly name: string;
  readonly #target: URL;
  readonly #auth: string | null;
  readonly #outbox: AlertOutbox;
  readonly #log: Logger;
  readonly #nodeId: string;
  readonly #metrics: RunMetrics | undefined;
  /** Aborted when the stop grace is over: the POST in flight is abandoned. */
  readonly #abandon = new AbortController();
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #loop: Promise<void> | null = null;
  /** Monotonic time (performance.now) before which no retry is made. */
  #retryAt = 0;
  #failingSince = 0;
  #lastReport = -Infinity;
  #stats = { delivered: 0, posts: 0, failedAttempts: 0, consecutiveFailures: 0, lastError: null as string | null };
  readonly #latencies: number[] = [];

  constructor(opts: { url: string; outbox: AlertOutbox; log: Logger; nodeId: string; metrics?: RunMetrics }) {
    this.name = redactUrl(opts.url);
    const u = new URL(opts.url);
    // User info is sent as Basic authorization, never as part of the request line.
    this.#auth = u.username || u.password ? 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64') : null;
    u.username = '';
    u.password = '';
    this.#target = u;
    this.#outbox = opts.outbox;
    this.#log = opts.log;
    this.#nodeId = opts.nodeId;
    this.#metrics = opts.metrics;
    this.#metrics?.watchWebhookQueue(this.name, () => this.#outbox.size(this.name));
  }

  /** Counters so far. */
  get stats(): WebhookStats {
    return { ...this.#stats, latencies: this.#latencies.slice() };
  }

  /** Starts the delivery loop. */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Abandons the POST in flight and any final attempt (the stop grace is over); the alerts stay queued. */
  abandon(): void {
    this.#abandon.abort();
  }

  /** New alerts were queued: deliver now unless the receiver is in backoff. */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Stops the loop after the POST in flight; with `finalAttempt`, first tries once more to send
   * everything queued (ignoring the backoff), then logs what stays queued for the next run.
   */
  async stop(finalAttempt: boolean): Promise<void> {
    this.#stopped = true;
    this.wake();
    await this.#loop;
    if (finalAttempt) while (!this.#abandon.signal.aborted && (await this.#sendNext()) === 'sent');
    const left = this.#outbox.size(this.name);
    if (left > 0) this.#log.warn(`${left} alerts stay queued for webhook ${this.name}; delivery resumes on the next run`);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const wait = this.#retryAt - performance.now();
      if (wait > 0) {
        await this.#sleep(wait, false);
        continue;
      }
      let r: 'sent' | 'empty' | 'failed';
      try {
        r = await this.#sendNext();
      } catch (err) {
        // The private file is busy or full: the alerts stay queued; try again shortly.
        this.#log.warn(`alerts: the webhook queue of ${this.name} cannot be read (${(err as Error).message}); retrying`);
        r = 'failed';
        this.#retryAt = performance.now() + 1000;
      }
      if (r === 'empty') await this.#sleep(1000, true);
    }
  }

  /** Waits `ms`, or until woken (when `wakeable`) or stopped. */
  #sleep(ms: number, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = null;
        this.#wake = null;
        resolve();
      };
      this.#timer = setTimeout(done, ms);
      this.#wake = wakeable ? done : () => (this.#stopped ? done() : undefined);
    });
  }

  /** Sends the oldest queued alerts once. */
  async #sendNext(): Promise<'sent' | 'empty' | 'failed'> {
    const batch = this.#outbox.queued(this.name, WEBHOOK_BATCH);
    if (batch.length === 0) return 'empty';
    const ids = batch.map((a) => a.alertId);
    const key = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32);
    const body = `{"node_id":${JSON.stringify(this.#nodeId)},"count":${batch.length},"alert_ids":${JSON.stringify(ids)},"alerts":[${batch.map((a) => a.body).join(',')}]}`;
    this.#stats.posts++;
    const headers: Record<string, string> = { 'idempotency-key': key, 'user-agent': 'edgelake-alerts' };
    if (this.#auth) headers.authorization = this.#auth;
    const r: PostResult = await postJson({ url: this.#target, body, headers, signal: this.#abandon.signal });
    this.#metrics?.webhookPosted(this.name, r.ok);
    if (r.ok) {
      this.#outbox.delivered(batch.map((a) => a.seq));
      this.#stats.delivered += batch.length;
      this.#recordLatencies(batch.map((a) => a.body));
      if (this.#stats.consecutiveFailures >= REPORT_AFTER) this.#log.info(`alert webhook ${this.name} recovered after ${this.#stats.consecutiveFailures} failed attempts`);
      this.#stats.consecutiveFailures = 0;
      this.#retryAt = 0;
      return 'sent';
    }
    this.#failed(batch.map((a) => a.seq), r.error);
    return 'failed';
  }

  /** Event → delivered latency of each alert, from its `event_time` (the body is ours: a cheap scan). */
  #recordLatencies(bodies: readonly string[]): void {
    const now = Date.now();
    for (const b of bodies) {
      const m = /"event_time":"([^"]+)"/.exec(b);
      const ev = m ? Date.parse(m[1]) : NaN;
      this.#metrics?.alertSent(this.name, /"alert_priority":"([a-z]+)"/.exec(b)?.[1] ?? 'unknown', now - ev);
      if (!Number.isFinite(ev)) continue;
      if (this.#latencies.length >= LATENCY_RING) this.#latencies.shift();
      this.#latencies.push(Math.max(0, now - ev));
    }
  }

  #failed(seqs: number[], error: string): void {
    const now = performance.now();
    const s = this.#stats;
    if (s.consecutiveFailures === 0) this.#failingSince = Date.now();
    s.consecutiveFailures++;
    s.failedAttempts++;
    s.lastError = error;
    this.#outbox.failed(seqs, error);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(s.consecutiveFailures - 1, 20)) * (0.5 + Math.random() / 2);
    this.#retryAt = now + delay;
    if (s.consecutiveFailures >= REPORT_AFTER && now - this.#lastReport >= REPORT_EVERY_MS) {
      this.#lastReport = now;
      this.#log.warn(
        `alert webhook ${this.name} keeps failing: ${s.consecutiveFailures} attempts since ${new Date(this.#failingSince).toISOString()}, ` +
          `last error: ${error}; ${this.#outbox.size(this.name)} alerts queued; next retry in ${(delay / 1000).toFixed(1)} s`,
      );
    }
  }
}
