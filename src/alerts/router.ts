import type Database from 'better-sqlite3';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { RunOptions } from '../config.ts';
import { messageOf } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import { SensorReader } from '../source/reader.ts';
import { hourStart, nodeKeyPart, rowObjectKey, type BucketStage } from '../sink/key.ts';
import { gzipLines } from '../sink/jsonl.ts';
import type { Sink, SinkObject } from '../sink/types.ts';
import { pipelineStamp } from '../stages/rows.ts';
import type { BatchContext } from '../stages/types.ts';
import { BEFORE_FIRST_ID, type StateStore } from '../state/store.ts';
import { AlertDetector, DETECTOR_COLUMNS } from './detector.ts';
import { alertConfig, type AlertConfig, type AlertSettings } from './options.ts';
import { AlertOutbox } from './outbox.ts';
import { encodeAlert, type Detection, type SourceRow } from './record.ts';
import { WebhookDelivery, type WebhookStats } from './webhook.ts';

/** Name of the alert cursor in `edgelake_alert_cursor`. */
export const ALERT_CURSOR = 'alerts';
/** Rows read per poll at most. */
export const POLL_ROWS = 10_000;
/** Poll interval while rows keep arriving, and its ceiling when idle (doubling in between), ms. */
export const POLL_MIN_MS = 5;
export const POLL_MAX_MS = 100;

/** Options of {@link AlertRouter}. */
export interface AlertRouterOptions {
  /** The sensor database connection (the runner's). */
  readonly db: Database.Database;
  /** The state database connection (the runner's; may be `db`). */
  readonly stateDb: Database.Database;
  readonly state: StateStore;
  readonly sink: Sink;
  readonly buckets: Readonly<Record<BucketStage, string>>;
  readonly nodeId: string;
  readonly version: string;
  readonly options: RunOptions & AlertSettings;
  readonly kernels: () => Promise<Kernels>;
  readonly log: Logger;
}

/** Counters of the alert path. */
export interface AlertStats {
  readonly rowsScored: number;
  readonly alerts: number;
  readonly suppressed: number;
  readonly dropped: number;
  readonly lastId: number;
  readonly webhooks: ReadonlyArray<{ readonly url: string } & WebhookStats>;
}

/**
 * Stage 5, beside whatever stage is active: polls new rows on its own cursor (tens of ms when
 * rows arrive), scores only the columns scoring needs, writes each poll's alerts as a small
 * object to the emergency bucket (`alerts/…/{node}_{first}-{last}.jsonl.gz`), and queues them
 * for every `--alert-webhook` in an outbox in the state database.
 *
 * Exactly once, like the main loop: the poll's id range is recorded as pending before the
 * upload; after it, one transaction advances the cursor, stores the detector state and queues
 * the deliveries. A replayed poll reads the same rows from the same state: same alerts, same keys,
 * and the outbox ignores alert ids it already holds.
 */
export class AlertRouter {
  readonly #o: AlertRouterOptions;
  readonly #cfg: AlertConfig;
  readonly #outbox: AlertOutbox;
  readonly #reader: SensorReader;
  readonly #full: Database.Statement;
  readonly #hooks: WebhookDelivery[];
  #detector: AlertDetector | null = null;
  /** Cursor position the in-memory detector state belongs to (-1: reload from the database). */
  #detectorAt = -1;
  #stopping = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #stats = { rowsScored: 0, alerts: 0, dropped: 0, lastId: 0 };

  constructor(opts: AlertRouterOptions) {
    this.#o = opts;
    this.#cfg = alertConfig(opts.options);
    this.#outbox = new AlertOutbox(opts.stateDb);
    this.#reader = new SensorReader({ db: opts.db, columns: DETECTOR_COLUMNS, keepTimestampText: false });
    this.#full = opts.db.prepare('SELECT * FROM sensor_readings WHERE id = ?');
    this.#hooks = this.#cfg.webhooks.map((url) => new WebhookDelivery({ url, outbox: this.#outbox, log: opts.log, nodeId: opts.nodeId }));
    // First start: alert on rows not yet landed by the main cursor, not on the whole history.
    this.#outbox.cursor(ALERT_CURSOR, opts.state.checkpoint('live')?.lastId ?? BEFORE_FIRST_ID);
  }

  /** Counters so far. */
  get stats(): AlertStats {
    return {
      ...this.#stats,
      suppressed: this.#detector?.suppressed ?? 0,
      webhooks: this.#hooks.map((h) => ({ url: h.url, ...h.stats })),
    };
  }

  /** Starts polling and delivering. */
  start(): void {
    for (const h of this.#hooks) h.start();
    this.#loop ??= this.#run();
  }

  /**
   * Stops. With `drain` (end of `--once`), first detects every row up to the current max id and
   * makes one last delivery attempt for everything queued.
   */
  async stop(opts: { drain: boolean }): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    if (opts.drain) {
      try {
        while ((await this.#poll()) > 0);
      } catch (err) {
        this.#o.log.warn(`alerts: the last poll failed (${messageOf(err)}); the rows are detected on the next run`);
      }
    }
    await Promise.all(this.#hooks.map((h) => h.stop(opts.drain)));
  }

  async #run(): Promise<void> {
    let idle = POLL_MIN_MS;
    let failures = 0;
    while (!this.#stopping) {
      let read = 0;
      try {
        read = await this.#poll();
        failures = 0;
      } catch (err) {
        failures++;
        this.#detectorAt = -1;
        const wait = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.#o.log.warn(`alerts: a poll failed (${messageOf(err)}); retrying in ${(wait / 1000).toFixed(1)} s, nothing is lost`);
        await this.#sleep(wait);
        continue;
      }
      if (read >= POLL_ROWS) {
        await nextTurn(); // catching up: keep going, but let the main loop in
        continue;
      }
      idle = read > 0 ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.#o.options.pollInterval, idle * 2);
      await this.#sleep(idle);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      this.#wake = () => {
        clearTimeout(t);
        this.#wake = null;
        resolve();
      };
    });
  }

  async #detectorFor(state: string | null, at: number): Promise<AlertDetector> {
    if (!this.#detector) this.#detector = new AlertDetector({ kernels: await this.#o.kernels(), minPriority: this.#cfg.minPriority, rateLimitMs: this.#cfg.rateLimitMs });
    if (this.#detectorAt !== at) {
      this.#detector.restore(state);
      this.#detectorAt = at;
    }
    return this.#detector;
  }

  /** One poll; returns the number of rows read. */
  async #poll(): Promise<number> {
    const o = this.#o;
    let cur = this.#outbox.cursor(ALERT_CURSOR, 0);
    const maxId = this.#reader.maxId();
    if (cur.pendingLastId === null && maxId < cur.lastId) {
      o.log.warn(`alerts: sensor_readings max id ${maxId} is below the alert cursor ${cur.lastId} (database replaced?); detecting from id 1 again`);
      this.#outbox.reset(ALERT_CURSOR, BEFORE_FIRST_ID);
      this.#detectorAt = -1;
      cur = this.#outbox.cursor(ALERT_CURSOR, 0);
    }
    const pending = cur.pendingLastId;
    if (pending === null && maxId <= cur.lastId) return 0;
    const detector = await this.#detectorFor(cur.state, cur.lastId);
    const batch =
      pending === null ? this.#reader.read(cur.lastId, POLL_ROWS) : this.#reader.read(cur.lastId, Math.min(Math.max(1, pending - cur.lastId), 1_000_000), pending);
    if (batch.length === 0) {
      // The pending rows vanished (source pruned): nothing to replay.
      if (pending !== null) this.#outbox.reset(ALERT_CURSOR, pending);
      return 0;
    }
    const lastId = batch.id[batch.length - 1];
    const startedMs = cur.pendingStartedMs ?? Date.now();
    const found = detector.detect(batch);
    const state = JSON.stringify(detector);
    this.#detectorAt = -1; // until committed, memory is ahead of the database
    this.#stats.rowsScored += batch.length;
    let dropped = new Map<string, number>();
    let written: { alerts: Detection[]; durableMs: number; ctx: BatchContext } | null = null;
    if (found.length === 0) {
      this.#outbox.commit(ALERT_CURSOR, lastId, state, [], [], this.#cfg.queueLimit);
    } else {
      if (pending === null) this.#outbox.begin(ALERT_CURSOR, lastId, startedMs);
      const ctx = this.#context(batch.id[0], lastId, startedMs);
      const { objects, alerts } = await this.#objects(found, ctx);
      await o.sink.put(objects);
      const durableMs = Date.now();
      dropped = this.#outbox.commit(ALERT_CURSOR, lastId, state, this.#cfg.webhooks, alerts, this.#cfg.queueLimit);
      for (const h of this.#hooks) h.wake();
      this.#stats.alerts += found.length;
      written = { alerts: found, durableMs, ctx };
    }
    this.#detectorAt = lastId;
    this.#stats.lastId = lastId;
    for (const [url, n] of dropped) {
      this.#stats.dropped += n;
      const h = this.#hooks.find((x) => x.url === url);
      o.log.warn(
        `alerts: the webhook queue of ${h ? redactUrl(url) : 'a receiver'} is full (${this.#cfg.queueLimit}); dropped its ${n} oldest undelivered alerts ` +
          `(they stay in the emergency bucket)`,
      );
    }
    if (written) await this.#latencyObject(written.alerts, written.durableMs, written.ctx).catch((err) => o.log.warn(`alerts: latency metrics not written: ${messageOf(err)}`));
    return batch.length;
  }

  #context(firstId: number, lastId: number, startedMs: number): BatchContext {
    const gen = Number(this.#o.state.getSetting('source_generation') ?? '1');
    return {
      batchId: `${this.#o.nodeId}-alerts-${firstId}-${lastId}`,
      nodeId: this.#o.nodeId,
      keyNode: nodeKeyPart(this.#o.nodeId, { generation: gen }),
      version: this.#o.version,
      startedMs,
      nowMs: Date.now(),
      buckets: this.#o.buckets,
      gzipLevel: this.#o.options.gzipLevel,
      final: false,
    };
  }

  /** The poll's alert objects, one per event hour, and the outbox entries. */
  async #objects(found: readonly Detection[], ctx: BatchContext): Promise<{ objects: SinkObject[]; alerts: { alertId: string; body: string }[] }> {
    const byHour = new Map<number, { lines: string[]; first: number; last: number }>();
    const alerts: { alertId: string; body: string }[] = [];
    const stamp = pipelineStamp('alerts', ctx, false);
    const fallbackStamp = pipelineStamp('alerts', ctx, true);
    for (const d of found) {
      const row = (this.#full.get(d.id) as SourceRow | undefined) ?? { id: d.id };
      const timed = Number.isFinite(d.eventMs);
      const body = encodeAlert(row, d, ctx.keyNode, ctx.nowMs, timed ? stamp : fallbackStamp);
      alerts.push({ alertId: `${ctx.keyNode}-${d.id}`, body });
      const h = hourStart(timed ? d.eventMs : ctx.startedMs);
      let g = byHour.get(h);
      if (!g) byHour.set(h, (g = { lines: [], first: d.id, last: d.id }));
      g.lines.push(body);
      g.last = d.id; // detections come in id order
    }
    const objects = await Promise.all(
      [...byHour].map(async ([hourMs, g]) => ({
        bucket: ctx.buckets.emergency,
        key: rowObjectKey({ dataset: 'alerts', hourMs, nodeKey: ctx.keyNode, firstId: g.first, lastId: g.last }),
        body: await gzipLines(g.lines, ctx.gzipLevel),
        records: g.lines.length,
      })),
    );
    return { objects, alerts };
  }

  /**
   * `latency_metrics` of the poll (event time → alert object durable). Keyed under the node id
   * plus `.alerts` so it never collides with the main loop's metrics of the same id range.
   * Written after the commit, outside the exactly-once path, so it never delays a webhook.
   */
  async #latencyObject(found: readonly Detection[], durableMs: number, ctx: BatchContext): Promise<void> {
    const lat = found.filter((d) => Number.isFinite(d.eventMs)).map((d) => Math.max(0, durableMs - d.eventMs)).sort((a, b) => a - b);
    if (lat.length === 0) return;
    const q = (p: number) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))];
    const record = {
      processing_location: 'edge',
      node_id: ctx.nodeId,
      batch_id: ctx.batchId,
      pipeline_type: 'alerts',
      end_to_end_latency: lat.reduce((s, x) => s + x, 0) / lat.length,
      p50: q(0.5),
      p95: q(0.95),
      p99: q(0.99),
      timestamp: new Date(durableMs).toISOString(),
    };
    const line = JSON.stringify(record).slice(0, -1) + ',' + pipelineStamp('alerts', ctx, false) + '}';
    const key = rowObjectKey({ dataset: 'latency_metrics', hourMs: ctx.startedMs, nodeKey: `${ctx.keyNode}~alerts`, firstId: found[0].id, lastId: found[found.length - 1].id });
    await this.#o.sink.put([{ bucket: ctx.buckets.metrics, key, body: await gzipLines([line]), records: 1 }]);
  }
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = u.username ? '***' : '';
    u.password = '';
    u.search = u.search ? '?…' : '';
    return u.toString();
  } catch {
    return '<webhook>';
  }
}
