import { createHash } from 'node:crypto';
import { messageOf } from '../errors.ts';
import type { Logger } from '../log.ts';
import { redact } from '../log.ts';
import type { AlertOutbox } from './outbox.ts';

/** Alerts per POST. */
export const WEBHOOK_BATCH = 500;
/** First retry delay, ms; doubles per consecutive failure up to {@link RETRY_MAX_MS}, with jitter in [50 %, 100 %]. */
export const RETRY_BASE_MS = 200;
export const RETRY_MAX_MS = 30_000;
/** A POST that takes longer fails, ms. */
export const POST_TIMEOUT_MS = 5_000;
/** Consecutive failures after which the receiver is reported as failing (then at most every {@link REPORT_EVERY_MS}). */
export const REPORT_AFTER = 3;
export const REPORT_EVERY_MS = 30_000;

/** Counters of one webhook. */
export interface WebhookStats {
  readonly delivered: number;
  readonly posts: number;
  readonly failedAttempts: number;
  readonly consecutiveFailures: number;
  readonly lastError: string | null;
}

/**
 * Delivers the outbox of one webhook URL: one POST in flight at a time, up to WEBHOOK_BATCH
 * alerts per POST as `{"node_id","count","alert_ids":[…],"alerts":[…]}`, with an
 * `Idempotency-Key` header derived from the alert ids (a retry of the same alerts sends the same
 * key; each alert's `alert_id` is its own idempotency key). Any failure — network error, timeout,
 * non-2xx — is retried with exponential backoff and jitter, per URL, so a dead receiver is not
 * hammered at the alert rate. Delivery is at least once; receivers dedupe by alert_id.
 */
export class WebhookDelivery {
  readonly url: string;
  readonly #outbox: AlertOutbox;
  readonly #log: Logger;
  readonly #nodeId: string;
  #wake: (() => void) | null = null;
  #timer: NodeJS.Timeout | null = null;
  #stopped = false;
  #loop: Promise<void> | null = null;
  #retryAt = 0;
  #failingSince = 0;
  #lastReport = 0;
  #stats = { delivered: 0, posts: 0, failedAttempts: 0, consecutiveFailures: 0, lastError: null as string | null };

  /** The URL without userinfo (fetch refuses credentials in URLs) and the Basic authorization they stand for. */
  readonly #target: string;
  readonly #auth: string | null;

  constructor(opts: { url: string; outbox: AlertOutbox; log: Logger; nodeId: string }) {
    this.url = opts.url;
    const u = new URL(opts.url);
    this.#auth = u.username || u.password ? 'Basic ' + Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64') : null;
    u.username = '';
    u.password = '';
    this.#target = u.toString();
    this.#outbox = opts.outbox;
    this.#log = opts.log;
    this.#nodeId = opts.nodeId;
  }

  /** Counters so far. */
  get stats(): WebhookStats {
    return { ...this.#stats };
  }

  /** Starts the delivery loop. */
  start(): void {
    this.#loop ??= this.#run();
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
    if (finalAttempt) while ((await this.#sendNext()) === 'sent');
    const left = this.#outbox.size(this.url);
    if (left > 0) this.#log.warn(`${left} alerts stay queued for webhook ${redact(this.url)}; delivery resumes on the next run`);
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const wait = this.#retryAt - Date.now();
      if (wait > 0) {
        await this.#sleep(wait, false);
        continue;
      }
      const r = await this.#sendNext();
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
    const batch = this.#outbox.queued(this.url, WEBHOOK_BATCH);
    if (batch.length === 0) return 'empty';
    const ids = batch.map((a) => a.alertId);
    const key = createHash('sha256').update(ids.join('\n')).digest('hex').slice(0, 32);
    const body = `{"node_id":${JSON.stringify(this.#nodeId)},"count":${batch.length},"alert_ids":${JSON.stringify(ids)},"alerts":[${batch.map((a) => a.body).join(',')}]}`;
    this.#stats.posts++;
    let error: string | null = null;
    try {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'idempotency-key': key, 'user-agent': 'edgelake-alerts' };
      if (this.#auth) headers.authorization = this.#auth;
      const res = await fetch(this.#target, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.timeout(POST_TIMEOUT_MS),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) error = `HTTP ${res.status} ${res.statusText}`.trim();
    } catch (err) {
      error = messageOf((err as Error).cause ?? err);
    }
    if (error === null) {
      this.#outbox.delivered(batch.map((a) => a.seq));
      this.#stats.delivered += batch.length;
      if (this.#stats.consecutiveFailures >= REPORT_AFTER) {
        this.#log.info(`alert webhook ${redact(this.url)} recovered after ${this.#stats.consecutiveFailures} failed attempts`);
      }
      this.#stats.consecutiveFailures = 0;
      this.#retryAt = 0;
      return 'sent';
    }
    this.#failed(batch.map((a) => a.seq), error);
    return 'failed';
  }

  #failed(seqs: number[], error: string): void {
    const now = Date.now();
    const s = this.#stats;
    if (s.consecutiveFailures === 0) this.#failingSince = now;
    s.consecutiveFailures++;
    s.failedAttempts++;
    s.lastError = redact(error);
    this.#outbox.failed(seqs, s.lastError);
    const delay = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** Math.min(s.consecutiveFailures - 1, 20)) * (0.5 + Math.random() / 2);
    this.#retryAt = now + delay;
    if (s.consecutiveFailures >= REPORT_AFTER && now - this.#lastReport >= REPORT_EVERY_MS) {
      this.#lastReport = now;
      this.#log.warn(
        `alert webhook ${redact(this.url)} keeps failing: ${s.consecutiveFailures} attempts since ${new Date(this.#failingSince).toISOString()}, ` +
          `last error: ${s.lastError}; ${this.#outbox.size(this.url)} alerts queued; next retry in ${(delay / 1000).toFixed(1)} s`,
      );
    }
  }
}
