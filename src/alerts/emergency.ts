import { setTimeout as sleep } from 'node:timers/promises';
import { messageOf } from '../errors.ts';
import { crashPoint } from '../faults.ts';
import type { Logger } from '../log.ts';
import type { RunMetrics } from '../ops/metrics.ts';
import { gzipLines } from '../sink/jsonl.ts';
import { hourStart, rowObjectKey, type OutputFormat } from '../sink/key.ts';
import { recordsParquet, zstd } from '../encode/parquet/index.ts';
import { datasetParquetSchema } from '../encode/parquet/datasets.ts';
import type { Sink, SinkObject } from '../sink/types.ts';
import type { AlertOutbox, EmergencyChunk } from './outbox.ts';

/** Alerts per emergency upload at most. */
export const EMERGENCY_CHUNK = 5000;
/**
 * Uploads start at most this often, ms: at the head of a busy table alerts are detected every
 * few ms, and one upload each would put a hundred small objects a second into the emergency
 * bucket (and four fsyncs on the main thread, in the way of the next alerts). Alerts that arrive
 * meanwhile go together; the bucket still has every alert well under a second after detection.
 */
export const EMERGENCY_INTERVAL_MS = 250;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** Options of {@link EmergencyUploader}. */
export interface EmergencyOptions {
  readonly outbox: AlertOutbox;
  readonly sink: Sink;
  /** The emergency and metrics buckets of the run. */
  readonly buckets: { readonly emergency: string; readonly metrics: string };
  readonly nodeId: string;
  readonly version: string;
  readonly gzipLevel: number;
  /** Object format of the alerts and their latency records (`--format`). Default jsonl. */
  readonly format?: OutputFormat;
  readonly log: Logger;
  /** The run's metrics (alerts uploaded, by priority). */
  readonly metrics?: RunMetrics;
}

/**
 * Puts every recorded alert into the emergency bucket exactly once, beside the webhooks and
 * never in their way: a chunk of queued alerts (by detection order) is recorded as the intent,
 * uploaded as one object per event hour and node key (`alerts/…/{node}_{first}-{last}`) plus the
 * chunk's `latency_metrics` record (event → alert), then marked uploaded; a replay after a crash
 * takes exactly the recorded chunk again, onto the same keys. While the lake is down it retries
 * with backoff on the monotonic clock; alerts keep reaching the webhooks meanwhile.
 */
export class EmergencyUploader {
  readonly #o: EmergencyOptions;
  #wake: (() => void) | null = null;
  #stopping = false;
  #loop: Promise<void> | null = null;
  #uploaded = 0;
  #failing = false;
  /** When the last upload attempt started (performance.now()). */
  #startedAt = -Infinity;

  constructor(opts: EmergencyOptions) {
    this.#o = opts;
  }

  /** Alerts put into the emergency bucket by this process. */
  get uploaded(): number {
    return this.#uploaded;
  }

  /** True while the last upload attempt failed (the lake is unreachable). */
  get failing(): boolean {
    return this.#failing;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** New alerts were recorded. */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Stops after the upload in flight. With `drain` (end of `--once`) first uploads everything
   * queued, once more at most per chunk: a failure then is logged, and the alerts wait for the
   * next run (they are durable in the private file).
   */
  async stop(opts: { drain: boolean }): Promise<void> {
    this.#stopping = true;
    this.wake();
    await this.#loop;
    if (!opts.drain) return;
    try {
      while (await this.#uploadOne());
    } catch (err) {
      this.#o.log.warn(`alerts: ${this.#o.outbox.emergencyBacklog()} alerts are not yet in the emergency bucket (${messageOf(err)}); they are uploaded on the next run`);
    }
  }

  async #run(): Promise<void> {
    let backoffMs = 0;
    while (!this.#stopping) {
      // A wake-up before the interval is over only lets more alerts gather (stop ends the wait).
      let wait: number;
      while (!this.#stopping && (wait = this.#startedAt + EMERGENCY_INTERVAL_MS - performance.now()) > 0) await this.#sleep(wait);
      if (this.#stopping) break;
      let more: boolean;
      try {
        this.#startedAt = performance.now();
        more = await this.#uploadOne();
        if (this.#failing) this.#o.log.info('alerts: the emergency bucket is reachable again; queued alerts are uploaded');
        this.#failing = false;
        backoffMs = 0;
      } catch (err) {
        backoffMs = Math.min(BACKOFF_MAX_MS, Math.max(BACKOFF_FIRST_MS, backoffMs * 2));
        if (!this.#failing) this.#o.log.warn(`alerts: uploading to the emergency bucket failed (${messageOf(err)}); retrying with backoff, webhooks go on meanwhile`);
        this.#failing = true;
        if (!this.#stopping) await this.#sleep(backoffMs * (0.5 + Math.random() / 2));
        continue;
      }
      // A stop that came while #uploadOne ran found no sleep to cut short: it must not wait a second here.
      if (!more && !this.#stopping) await this.#sleep(1000);
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

  /** Uploads one chunk (the recorded intent first); false when nothing was queued. */
  async #uploadOne(): Promise<boolean> {
    const { outbox, sink } = this.#o;
    const intent = outbox.emergencyIntent();
    const chunk = intent ? outbox.emergencyChunk(0, intent.toSeq) : outbox.emergencyChunk(EMERGENCY_CHUNK, null);
    if (!chunk) {
      if (intent) outbox.commitEmergency(intent.toSeq); // its alerts were marked already
      return false;
    }
    const startedMs = intent?.startedMs ?? Date.now();
    if (!intent) outbox.beginEmergency(chunk.toSeq, startedMs);
    crashPoint('intent-recorded');
    await sink.put(await this.#objects(chunk, startedMs));
    crashPoint('batch-uploaded');
    outbox.commitEmergency(chunk.toSeq);
    crashPoint('batch-committed');
    this.#uploaded += chunk.alerts.length;
    const m = this.#o.metrics;
    if (m) {
      const byPriority = new Map<string, number>();
      for (const a of chunk.alerts) {
        const p = /"alert_priority":"([a-z]+)"/.exec(a.body)?.[1] ?? 'unknown';
        byPriority.set(p, (byPriority.get(p) ?? 0) + 1);
      }
      for (const [p, n] of byPriority) m.alertsUploaded(p, n);
    }
    // Let the event loop breathe between chunks of a large backlog.
    await sleep(0);
    return true;
  }

  /** The chunk's alert objects (one per event hour and node key) and its latency_metrics object. */
  async #objects(chunk: EmergencyChunk, startedMs: number): Promise<SinkObject[]> {
    const o = this.#o;
    const format = o.format ?? 'jsonl';
    // Parquet: the stored JSON bodies parsed into their records (a few per chunk), so both formats hold the same values.
    const encode = async (dataset: 'alerts' | 'latency_metrics', lines: readonly string[]): Promise<Uint8Array> =>
      format === 'parquet'
        ? recordsParquet(datasetParquetSchema(dataset), lines.map((l) => JSON.parse(l)), { codec: await zstd(), createdBy: `edgelake ${o.version}` })
        : gzipLines(lines, o.gzipLevel);
    const groups = new Map<string, { hourMs: number; nodeKey: string; lines: string[]; first: number; last: number }>();
    const latencies: number[] = [];
    for (const a of chunk.alerts) {
      const nodeKey = a.alertId.slice(0, a.alertId.length - String(a.readingId).length - 1);
      const hourMs = hourStart(Number.isFinite(a.eventMs) ? a.eventMs : a.detectedMs);
      const k = `${hourMs}|${nodeKey}`;
      let g = groups.get(k);
      if (!g) groups.set(k, (g = { hourMs, nodeKey, lines: [], first: a.readingId, last: a.readingId }));
      g.lines.push(a.body);
      g.first = Math.min(g.first, a.readingId);
      g.last = Math.max(g.last, a.readingId);
      if (Number.isFinite(a.eventMs)) latencies.push(Math.max(0, a.detectedMs - a.eventMs));
    }
    const objects = await Promise.all(
      [...groups.values()].map(async (g) => ({
        bucket: o.buckets.emergency,
        key: rowObjectKey({ dataset: 'alerts', hourMs: g.hourMs, nodeKey: g.nodeKey, firstId: g.first, lastId: g.last, format }),
        body: await encode('alerts', g.lines),
        records: g.lines.length,
      })),
    );
    if (latencies.length > 0) {
      latencies.sort((x, y) => x - y);
      const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
      const first = Math.min(...chunk.alerts.map((a) => a.readingId));
      const last = Math.max(...chunk.alerts.map((a) => a.readingId));
      const nodeKey = [...groups.values()][0].nodeKey;
      const batchId = `${o.nodeId}-alerts-${first}-${last}`;
      const now = new Date().toISOString();
      const record = {
        processing_location: 'edge',
        node_id: o.nodeId,
        batch_id: batchId,
        pipeline_type: 'alerts',
        end_to_end_latency: Math.round((latencies.reduce((s, x) => s + x, 0) / latencies.length) * 1000) / 1000,
        p50: q(0.5),
        p95: q(0.95),
        p99: q(0.99),
        row_count: latencies.length,
        run: 'live',
        timestamp: now,
        _pipeline: { type: 'alerts', version: o.version, node_id: o.nodeId, batch_id: batchId, processed_at: now },
      };
      objects.push({
        bucket: o.buckets.metrics,
        key: rowObjectKey({ dataset: 'latency_metrics', hourMs: startedMs, nodeKey: `${nodeKey}~alerts`, firstId: first, lastId: last, format }),
        body: await encode('latency_metrics', [JSON.stringify(record)]),
        records: 1,
      });
    }
    return objects;
  }
}
