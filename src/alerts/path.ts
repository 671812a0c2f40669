import type Database from 'better-sqlite3';
import { takeRows, type ColumnarBatch } from '../batch.ts';
import { messageOf } from '../errors.ts';
import type { Kernels } from '../kernels/types.ts';
import type { Logger } from '../log.ts';
import type { CoordinatePolicy } from '../privacy/coordinates.ts';
import { SensorReader } from '../source/reader.ts';
import { tableColumns, requireColumns } from '../source/table.ts';
import type { Sink } from '../sink/types.ts';
import { pipelineStamp } from '../stages/rows.ts';
import type { PipelineType } from '../state/pipeline-types.ts';
import type { ColumnName } from '../source/schema.ts';
import { AlertDetector, DETECTOR_COLUMNS } from './detector.ts';
import { EmergencyUploader } from './emergency.ts';
import { alertConfig, type AlertConfig } from './options.ts';
import { AlertOutbox, type StoredAlert } from './outbox.ts';
import { alertIdOf, encodeDetections } from './record.ts';
import { WebhookDelivery, type WebhookStats } from './webhook.ts';
import type { RunOptions } from '../config.ts';
import type { RunMetrics } from '../ops/metrics.ts';
import type { AlertRecordsResult, AlertRecordsTask } from '../pool/types.ts';

/** Rows read per head poll at most. */
export const POLL_ROWS = 10_000;
/** Poll interval while rows keep arriving, and its ceiling when idle (doubling in between), ms. */
export const POLL_MIN_MS = 5;
export const POLL_MAX_MS = 100;
/**
 * A stage batch with at least this many alerts to look up has them looked up and encoded in a
 * worker (when the run has workers): below it the hop costs more than it saves.
 */
export const OFFLOAD_MIN_ALERTS = 64;
/** The detector's state is saved at most this often (a crash re-detects from it, deterministically), ms. */
const SNAPSHOT_EVERY_MS = 1000;

/** Options of {@link AlertPath.open}. */
export interface AlertPathOptions {
  /** The sensor database (the run's connection). */
  readonly db: Database.Database;
  /** edgelake's private file (alerts, deliveries, detector state). */
  readonly privateDb: Database.Database;
  readonly options: RunOptions;
  readonly sink: Sink;
  readonly buckets: { readonly emergency: string; readonly metrics: string };
  readonly nodeId: string;
  /** The node part of keys and alert ids now (generations change it). */
  readonly keyNode: () => string;
  readonly version: string;
  readonly kernels: () => Promise<Kernels>;
  /** The policy alerts follow under `type` (src/privacy/coordinates.ts): enriched fuzzes, the others withhold. */
  readonly policyFor: (type: PipelineType) => Promise<CoordinatePolicy>;
  /** The pipeline type active now (for rows the head poll detects before any stage read them). */
  readonly activeType: () => PipelineType;
  /** Where a new detector starts: the live checkpoint (alert on rows not landed yet, not on history). */
  readonly startId: number;
  readonly log: Logger;
  /** The run's metrics (alerts detected, sent, dropped, queues, latencies). */
  readonly metrics?: RunMetrics;
  /**
   * Builds alert records in a worker (KernelPool.alertRecords: rows looked up by id over the
   * worker's own connection, encoded alike). Absent: the main thread does it.
   */
  readonly recordsInWorker?: () => ((task: AlertRecordsRequest) => Promise<AlertRecordsResult>) | null;
}

/** What {@link AlertPathOptions.recordsInWorker} is asked for: a KernelPool alertRecords task without the pool's own fields. */
export type AlertRecordsRequest = Omit<AlertRecordsTask, 'kernel' | 'impl' | 'db' | 'dbFile'>;

/** Counters of the alert path. */
export interface AlertStats {
  readonly rowsScored: number;
  /** Rows the head poll read itself (0 while the stage is behind the head: it reads every row once). */
  readonly rowsPolled: number;
  /** Alerted rows whose columns were looked up by id (a stage that reads few columns: aggregated). */
  readonly rowsLookedUp: number;
  /** Alert records a worker looked up and encoded (AlertPathOptions.recordsInWorker). */
  readonly recordsBuiltInWorkers: number;
  readonly alerts: number;
  readonly suppressed: number;
  readonly dropped: number;
  readonly uploaded: number;
  readonly webhooks: ReadonlyArray<{ readonly name: string } & WebhookStats>;
}

/**
 * Stage 5, inside the run's own dataflow (issue 12: one read per row). The runner hands every
 * batch it reads to {@link observe}, and the detector scores the rows it has not seen; only at
 * the head of the table — where the stage waits for a batch to fill — does the path poll the few
 * rows after its cursor itself, every few ms, which is what gives alerts their latency. So a
 * catch-up or `--once` run reads each row once, and the alerts come out of the same rows, with
 * the coordinates the active stage's policy allows (src/privacy/coordinates.ts).
 *
 * A detected alert is recorded at once in the private file (fsynced) with a delivery per
 * receiver; the webhooks are fed from there and the emergency bucket gets it through its own
 * intent (EmergencyUploader): a lakehouse outage never silences the real-time path.
 */
export class AlertPath {
  readonly #o: AlertPathOptions;
  readonly #cfg: AlertConfig;
  readonly #outbox: AlertOutbox;
  readonly #hooks: WebhookDelivery[];
  readonly #emergency: EmergencyUploader;
  readonly #receivers: string[];
  readonly #detector: AlertDetector;
  readonly #head: SensorReader;
  readonly #lookup: SensorReader;
  readonly #known: readonly ColumnName[];
  /** Rows up to here are detected (their alerts durable); the in-memory detector is at this position. */
  #cursor: number;
  #snapshotAt = 0;
  #snapshotted: number;
  /** The last id of the last batch the stage read: the head poll runs only when that is near the head. */
  #observed: number;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #wake: (() => void) | null = null;
  #stats = { rowsScored: 0, rowsPolled: 0, rowsLookedUp: 0, recordsBuiltInWorkers: 0, alerts: 0, dropped: 0 };
  /** Detections run one at a time (the head poll and the stage's batches share one detector). */
  #serial: Promise<void> = Promise.resolve();
  /** Bumped by {@link reset}: a detection that was in flight then records its alerts but does not move the new cursor. */
  #epoch = 0;

  private constructor(o: AlertPathOptions, detector: AlertDetector) {
    this.#o = o;
    this.#cfg = alertConfig(o.options);
    this.#outbox = new AlertOutbox(o.privateDb);
    this.#detector = detector;
    const table = tableColumns(o.db);
    requireColumns(table, DETECTOR_COLUMNS, 'the alert detector (run with --no-alerts to do without alerts)');
    this.#known = table.known;
    this.#head = new SensorReader({ db: o.db, columns: DETECTOR_COLUMNS, keepTimestampText: false });
    this.#lookup = new SensorReader({ db: o.db, columns: table.known, keepTimestampText: false });
    const snap = this.#outbox.snapshot(o.startId);
    this.#detector.restore(snap.state);
    this.#cursor = snap.lastId;
    this.#snapshotted = snap.lastId;
    this.#observed = o.startId;
    this.#hooks = this.#cfg.webhooks.map((url) => new WebhookDelivery({ url, outbox: this.#outbox, log: o.log, nodeId: o.nodeId, metrics: o.metrics }));
    this.#receivers = this.#hooks.map((h) => h.name);
    this.#emergency = new EmergencyUploader({ outbox: this.#outbox, sink: o.sink, buckets: o.buckets, nodeId: o.nodeId, version: o.version, gzipLevel: o.options.gzipLevel, format: o.options.format, log: o.log, metrics: o.metrics });
  }

  /** Builds the path (kernels loaded, detector restored from the private file) and starts delivering. */
  static async open(o: AlertPathOptions): Promise<AlertPath> {
    const cfg = alertConfig(o.options);
    const detector = new AlertDetector({ kernels: await o.kernels(), minPriority: cfg.minPriority, rateLimitMs: cfg.rateLimitMs });
    const path = new AlertPath(o, detector);
    for (const h of path.#hooks) h.start();
    path.#emergency.start();
    if (!o.options.once) path.#loop = path.#pollLoop();
    return path;
  }

  /** Counters so far. */
  get stats(): AlertStats {
    return {
      ...this.#stats,
      suppressed: this.#detector.suppressed,
      uploaded: this.#emergency.uploaded,
      webhooks: this.#hooks.map((h) => ({ name: h.name, ...h.stats })),
    };
  }

  /**
   * A batch the stage read (rows after `afterId`, in id order, under pipeline type `type`): the
   * detector scores the rows after its cursor. A gap before the batch (the detector fell behind
   * after a failure) is read first, so no row is ever skipped.
   *
   * Resolves once the detector is done with `batch` (scored, and what its alerts need copied),
   * so the stage may go on with it; recording the alerts goes on in turn behind it ({@link stop}
   * waits for that).
   */
  observe(batch: ColumnarBatch, afterId: number, type: PipelineType): Promise<void> {
    if (batch.length === 0) return Promise.resolve();
    const last = batch.id[batch.length - 1];
    if (last > this.#observed) this.#observed = last;
    let consumed!: () => void;
    const done = new Promise<void>((resolve) => (consumed = resolve));
    void this.#exclusive(async () => {
      try {
        if (last <= this.#cursor) return;
        if (afterId > this.#cursor) await this.#readUpTo(afterId, type);
        let from = 0;
        while (from < batch.length && batch.id[from] <= this.#cursor) from++;
        await this.#detect(batch, from, type, batch.columns.length >= this.#known.length, consumed);
      } catch (err) {
        this.#failed(err);
      } finally {
        consumed();
      }
    });
    return done;
  }

  /** Runs `step` after every detection before it has finished. */
  #exclusive<T>(step: () => Promise<T>): Promise<T> {
    const run = this.#serial.then(step);
    this.#serial = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  /** The source was replaced (ids restart): detection starts again at `startId` with a fresh detector. */
  reset(startId: number): void {
    this.#epoch++;
    this.#outbox.reset(startId);
    this.#detector.restore(null);
    this.#cursor = startId;
    this.#snapshotted = startId;
    this.#observed = startId;
  }

  /**
   * Stops polling and saves the detector. With `drain` (end of `--once`): every queued alert goes
   * to the emergency bucket and each receiver gets one last delivery attempt.
   */
  async stop(opts: { drain: boolean }): Promise<AlertStats> {
    this.#stopping = true;
    this.#wake?.();
    await this.#loop;
    // Detections of the stage's last batches may still be recording their alerts.
    await this.#serial;
    try {
      this.#snapshot(true);
    } catch (err) {
      this.#o.log.warn(`alerts: saving the detector failed (${messageOf(err)}); the next run detects again from its last save (same alerts, no duplicates)`);
    }
    await this.#emergency.stop({ drain: opts.drain });
    await Promise.all(this.#hooks.map((h) => h.stop(opts.drain)));
    return this.stats;
  }

  /** The stop grace is over: webhook POSTs in flight are abandoned (their alerts stay queued for the next run). */
  abandon(): void {
    for (const h of this.#hooks) h.abandon();
  }

  /** Head polls: while the stage is within a batch of the table's head, read what it has not read yet. */
  async #pollLoop(): Promise<void> {
    let idle = POLL_MIN_MS;
    while (!this.#stopping) {
      let read = 0;
      try {
        const max = this.#head.maxId();
        if (max > this.#cursor && max - this.#observed < this.#o.options.batchSize) read = await this.#exclusive(() => this.#poll());
      } catch (err) {
        this.#failed(err);
        await this.#sleep(1000);
        continue;
      }
      // Idle: the detector's position is saved soon after the last rows, not only at the next detection.
      if (read === 0) await this.#exclusive(async () => this.#snapshot(false)).catch((err: unknown) => this.#failed(err));
      idle = read > 0 ? POLL_MIN_MS : Math.min(POLL_MAX_MS, this.#o.options.pollInterval, idle * 2);
      await this.#sleep(read >= POLL_ROWS ? 0 : idle);
    }
  }

  /** One head poll; returns the rows read. */
  async #poll(): Promise<number> {
    const batch = this.#head.read(this.#cursor, POLL_ROWS);
    if (batch.length === 0) return 0;
    this.#stats.rowsPolled += batch.length;
    await this.#detect(batch, 0, this.#o.activeType(), false);
    return batch.length;
  }

  /** Reads and detects the rows after the cursor up to `untilId` (a gap before a batch). */
  async #readUpTo(untilId: number, type: PipelineType): Promise<void> {
    while (this.#cursor < untilId) {
      const batch = this.#head.read(this.#cursor, POLL_ROWS, untilId);
      if (batch.length === 0) {
        this.#cursor = untilId;
        return;
      }
      this.#stats.rowsPolled += batch.length;
      await this.#detect(batch, 0, type, false);
    }
  }

  /**
   * Scores rows `from`…end of `batch`, records their alerts (one fsynced transaction) and wakes
   * the deliveries. `complete`: the batch holds every contract column the table has, so alert
   * records are built from its rows; otherwise the alerted rows are looked up by id — in a worker
   * for a stage batch (`consumed` given) with many alerts, when the run has workers.
   * `consumed` is called as soon as `batch` is no longer needed.
   */
  async #detect(batch: ColumnarBatch, from: number, type: PipelineType, complete: boolean, consumed?: () => void): Promise<void> {
    const found = this.#detector.detect(batch, from);
    const lastId = batch.id[batch.length - 1];
    const epoch = this.#epoch;
    this.#stats.rowsScored += batch.length - from;
    if (found.length > 0) {
      const detectedMs = Date.now();
      const keyNode = this.#o.keyNode();
      const ctx = { version: this.#o.version, nodeId: this.#o.nodeId, batchId: `${this.#o.nodeId}-alerts-${found[0].id}-${found[found.length - 1].id}`, nowMs: detectedMs };
      const stamps = { event: pipelineStamp('alerts', ctx, false), fallback: pipelineStamp('alerts', ctx, true) };
      const inWorker = this.#o.recordsInWorker?.() ?? null;
      let alerts: StoredAlert[];
      if (!complete && inWorker && consumed && found.length >= OFFLOAD_MIN_ALERTS) {
        consumed();
        const coordinates = (await this.#o.policyFor(type)).spec();
        const detections = found.map(({ row: _row, ...d }) => d);
        const r = await inWorker({ columns: this.#known, detections, keyNode, detectedMs, stamps, coordinates });
        const eventMsOf = new Map(found.map((d) => [d.id, d.eventMs]));
        alerts = r.readingIds.map((id, k) => ({ alertId: alertIdOf(keyNode, id), readingId: id, eventMs: eventMsOf.get(id)!, detectedMs, body: r.bodies[k] }));
        this.#stats.rowsLookedUp += found.length;
        this.#stats.recordsBuiltInWorkers += alerts.length;
      } else {
        let rows: ColumnarBatch;
        if (complete) rows = takeRows(batch, found.map((d) => d.row));
        else {
          rows = this.#lookup.readIds(found.map((d) => d.id));
          this.#stats.rowsLookedUp += found.length;
        }
        consumed?.();
        const coords = (await this.#o.policyFor(type)).apply(rows, detectedMs);
        // A row looked up by id may have vanished (pruned by the sensor meanwhile): it is left out.
        const encoded = encodeDetections(rows, coords, found, keyNode, detectedMs, stamps);
        alerts = encoded.alerts.map(({ detection: d, alertId }, k) => ({ alertId, readingId: d.id, eventMs: d.eventMs, detectedMs, body: encoded.bodies[k] }));
      }
      const { fresh, added, dropped, droppedByPriority } = this.#outbox.record(alerts, this.#receivers, this.#cfg.queueLimit);
      this.#stats.alerts += fresh;
      const m = this.#o.metrics;
      if (m) {
        const priorityOf = new Map(found.map((d) => [d.id, d.priority]));
        for (const a of added) m.alertDetected(priorityOf.get(a.readingId) ?? 'unknown', a.eventMs, a.detectedMs);
        for (const [receiver, byPriority] of droppedByPriority) for (const [priority, n] of byPriority) m.alertsDropped(receiver, priority, n);
      }
      for (const h of this.#hooks) h.wake();
      this.#emergency.wake();
      for (const [receiver, n] of dropped) {
        this.#stats.dropped += n;
        this.#o.log.warn(`alerts: the webhook queue of ${receiver} is full (${this.#cfg.queueLimit}); dropped its ${n} oldest undelivered alerts (they stay in the emergency bucket)`);
      }
    }
    consumed?.();
    // The source was replaced meanwhile (reset): its new cursor is not this batch's.
    if (epoch !== this.#epoch) return;
    this.#cursor = lastId;
    this.#snapshot(false);
    this.#o.metrics?.rowsScored(batch.length - from);
  }

  /** Saves the detector at most every SNAPSHOT_EVERY_MS (or now, with `force`). */
  #snapshot(force: boolean): void {
    const now = performance.now();
    if (this.#cursor === this.#snapshotted || (!force && now - this.#snapshotAt < SNAPSHOT_EVERY_MS)) return;
    this.#outbox.saveSnapshot(this.#cursor, JSON.stringify(this.#detector));
    this.#snapshotAt = now;
    this.#snapshotted = this.#cursor;
  }

  /**
   * A detection could not be recorded (the private file is busy or full): the in-memory detector
   * is ahead of what is durable, so it goes back to its last save; the rows after it are read
   * again (by the head poll, or as the gap before the next batch), the same alerts come out.
   */
  #failed(err: unknown): void {
    this.#o.log.warn(`alerts: detection failed (${messageOf(err)}); detecting again from the last saved position, nothing is lost`);
    this.#o.metrics?.alertPathFailed(err);
    try {
      const snap = this.#outbox.snapshot(this.#o.startId);
      this.#detector.restore(snap.state);
      this.#cursor = snap.lastId;
      this.#snapshotted = snap.lastId;
    } catch {
      // Still failing: the next attempt reloads again.
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
}
