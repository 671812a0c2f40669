import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError, messageOf, PipelineError } from '../errors.ts';
import type { BatchReport } from '../pipeline/run.ts';
import { redact } from '../redact.ts';
import type { BucketStage } from '../sink/key.ts';
import type { SinkErrorClass, SinkObserver, SinkOperation } from '../sink/types.ts';
import { PIPELINE_TYPES, type PipelineType } from '../state/pipeline-types.ts';
import { Health, type Component, type Failure, type HealthReport } from './health.ts';
import type { Lag } from './lag.ts';
import { defineSeries, type Series } from './series.ts';

/** Who is measured: set once the run knows its node id. */
export interface RunIdentity {
  readonly nodeId: string;
  readonly sink: 'lake' | 's3';
  readonly buckets: Readonly<Record<BucketStage, string>>;
  readonly version: string;
  /** False with --no-alerts (or when reprocessing): the status line leaves alerts out. */
  readonly alerts: boolean;
}

/** Read-only views into the run, asked when a status line or a scrape needs them (errors are ignored: the last value stays). */
export interface RunProbes {
  /** The last id durably in the lake (BEFORE_FIRST_ID before any). */
  readonly checkpoint: () => number;
  readonly lag: (checkpointId: number) => Lag;
  /** The type the next batch is read with (pipeline_config, or --type). */
  readonly activeType: () => PipelineType;
}

/** What the status line shows (src/pipeline/progress.ts). */
export interface RunStatus {
  readonly stage: PipelineType | null;
  /** This run: source rows landed, objects and bytes written (manifests and metrics included). */
  readonly rows: number;
  readonly objects: number;
  readonly bytes: number;
  readonly lag: Lag | null;
  readonly checkpointId: number | null;
  /** Null when the run has no alert path. */
  readonly alerts: { readonly detected: number; readonly sent: number; readonly dropped: number } | null;
  readonly sink: { readonly kind: 'lake' | 's3'; readonly state: 'ok' | 'retrying' | 'failing'; readonly detail: string | null };
  readonly failures: readonly Failure[];
}

/** Probes are asked at most this often, ms (a scrape or a status line in between reuses the answer). */
const PROBE_EVERY_MS = 1000;

/**
 * The run's metrics, named after what happened: the run loop, the sinks (as their
 * {@link SinkObserver}) and the alert path call it, never prom-client. It always counts (the
 * status line reads it); `/metrics` and `/healthz` serve it only with `--metrics-addr`
 * (src/ops/server.ts). Every series is in src/ops/series.ts.
 */
export class RunMetrics implements SinkObserver {
  readonly #registry = new Registry();
  readonly #s: Series = defineSeries([this.#registry]);
  readonly #health = new Health();
  #id: RunIdentity | null = null;
  #stageOf = new Map<string, string>();
  #probes: RunProbes | null = null;
  #probedAt = -Infinity;
  #probed: { checkpoint: number; lag: Lag; type: PipelineType } | null = null;
  #totals = { rows: 0, objects: 0, bytes: 0, detected: 0, sent: 0, dropped: 0 };
  #retrying: SinkErrorClass | null = null;
  #committed: number | null = null;
  readonly #queues = new Map<string, () => number>();
  #defaults = false;

  /** Names the node (a label of every series) and the run's parts; called once, before anything is counted. */
  identify(id: RunIdentity, probes: RunProbes): void {
    this.#id = id;
    this.#probes = probes;
    this.#registry.setDefaultLabels({ node: id.nodeId });
    this.#stageOf = new Map(Object.entries(id.buckets).map(([stage, bucket]) => [bucket, stage]));
    this.#s.info.set({ version: id.version, sink: id.sink }, 1);
    // Zeros first, so the first increase of a counter is seen by rate() and a dashboard has every stage.
    for (const t of PIPELINE_TYPES) {
      this.#s.rowsRead.inc({ stage: t }, 0);
      this.#s.rowsWritten.inc({ stage: t }, 0);
      this.#s.recordsWritten.inc({ stage: t }, 0);
    }
    if (id.alerts) for (const p of PRIORITIES) this.#s.alertsDetected.inc({ priority: p }, 0);
    this.#s.attempts.inc({ sink: id.sink, operation: 'PutObject' }, 0);
  }

  /** The run started (buckets checked, checkpoint found): the state and the source answer. */
  started(): void {
    this.#health.recover('state');
    this.#health.recover('source');
  }

  /** A batch of `rows` source rows was read and processed, and is about to upload. */
  batchRead(stage: PipelineType, rows: number): void {
    this.#s.rowsRead.inc({ stage }, rows);
  }

  /** A batch committed: its rows are in the lake, the checkpoint moved to its last id. */
  batchCommitted(b: BatchReport): void {
    this.#s.rowsWritten.inc({ stage: b.type }, b.records);
    this.#s.recordsWritten.inc({ stage: b.type }, b.recordsOut);
    this.#s.batchDuration.observe({ stage: b.type }, b.durationMs / 1000);
    this.#s.lastCommit.set(Date.now() / 1000);
    this.#totals.rows += b.records;
    this.#committed = b.lastId;
    this.#probedAt = -Infinity; // the lag changed: measure it again when next asked
    this.#health.recover('state');
    this.#health.recover('source');
  }

  /** A batch (or the start) failed; follow mode retries it. Sink failures are known from the sink itself. */
  batchFailed(err: unknown): void {
    // Our own codes are a short fixed list; anything else is one label value, not an open set.
    const code = err instanceof PipelineError || err instanceof ConfigError ? err.code : 'UNEXPECTED';
    this.#s.batchFailures.inc({ code });
    const component: Component | null = /^STATE_/.test(code) ? 'state' : /^SOURCE_/.test(code) ? 'source' : null;
    if (component) this.#health.fail(component, 'batch', redact(messageOf(err)));
  }

  uploadAttempted(op: SinkOperation): void {
    this.#s.attempts.inc({ sink: this.#sinkKind, operation: op });
  }

  uploadRetried(op: SinkOperation, errorClass: SinkErrorClass): void {
    this.#s.retries.inc({ sink: this.#sinkKind, operation: op, error_class: errorClass });
    if (errorClass !== 'closed') this.#retrying = errorClass;
  }

  uploadFailed(op: SinkOperation, bucket: string, errorClass: SinkErrorClass, detail: string): void {
    this.#s.failures.inc({ sink: this.#sinkKind, operation: op, error_class: errorClass });
    this.#retrying = null;
    // A stop closing the sink under an upload is not S3 failing.
    if (errorClass !== 'closed') this.#health.fail('sink', bucket, redact(detail));
  }

  requestSucceeded(_op: SinkOperation, bucket: string): void {
    this.#retrying = null;
    this.#health.recover('sink', bucket);
  }

  objectWritten(bucket: string, key: string, bytes: number): void {
    const labels = { stage: this.#stageOf.get(bucket) ?? 'other', bucket, dataset: datasetOf(key) };
    this.#s.objects.inc(labels);
    this.#s.bytes.inc(labels, bytes);
    this.#totals.objects++;
    this.#totals.bytes += bytes;
  }

  /** An alert was detected (new); `eventMs` NaN when its reading had no event time. */
  alertDetected(priority: string, eventMs: number, detectedMs: number): void {
    this.#s.alertsDetected.inc({ priority });
    if (Number.isFinite(eventMs)) this.#s.alertLatency.observe({ priority }, Math.max(0, detectedMs - eventMs) / 1000);
    this.#totals.detected++;
  }

  /** The detector scored `n` rows and recorded their alerts: the alert path's private file works. */
  rowsScored(_n: number): void {
    this.#health.recover('alerts');
  }

  /** The alert path could not record or read its private file (it detects again from its last save). */
  alertPathFailed(err: unknown): void {
    this.#health.fail('alerts', 'private file', redact(messageOf(err)));
  }

  /** `n` undelivered alerts of `priority` were dropped from the full queue of `receiver`. */
  alertsDropped(receiver: string, priority: string, n: number): void {
    this.#s.alertsDropped.inc({ receiver, priority }, n);
    this.#totals.dropped += n;
  }

  /** One alert reached `receiver`, `latencyMs` after its event (NaN: no event time). */
  alertSent(receiver: string, priority: string, latencyMs: number): void {
    this.#s.alertsSent.inc({ receiver, priority });
    if (Number.isFinite(latencyMs)) this.#s.webhookLatency.observe({ receiver }, Math.max(0, latencyMs) / 1000);
    this.#totals.sent++;
  }

  /** One POST to `receiver` ended. */
  webhookPosted(receiver: string, ok: boolean): void {
    this.#s.webhookPosts.inc({ receiver, result: ok ? 'ok' : 'failed' });
  }

  /** `n` alerts of `priority` are in the emergency bucket. */
  alertsUploaded(priority: string, n: number): void {
    this.#s.alertsUploaded.inc({ priority }, n);
  }

  /** A webhook receiver whose queue depth is `size()` (asked when scraped). */
  watchWebhookQueue(receiver: string, size: () => number): void {
    this.#queues.set(receiver, size);
    this.#s.webhookPosts.inc({ receiver, result: 'ok' }, 0);
    this.#s.webhookPosts.inc({ receiver, result: 'failed' }, 0);
    for (const p of PRIORITIES) {
      this.#s.alertsSent.inc({ receiver, priority: p }, 0);
      this.#s.alertsDropped.inc({ receiver, priority: p }, 0);
    }
  }

  /** Adds prom-client's process and Node.js series (CPU, memory, event loop lag, GC) to the exposition. */
  collectProcessMetrics(): void {
    if (this.#defaults) return;
    this.#defaults = true;
    collectDefaultMetrics({ register: this.#registry });
  }

  /** The answer of `/healthz`. */
  health(): HealthReport {
    return this.#health.report();
  }

  /** The Prometheus text exposition, fresh. */
  async exposition(): Promise<string> {
    this.#refresh(true);
    return this.#registry.metrics();
  }

  /** The content type of {@link exposition}. */
  get contentType(): string {
    return this.#registry.contentType;
  }

  /** What the status line shows, probes at most a second old. */
  get status(): RunStatus {
    const probed = this.#refresh(false);
    const failures = this.#health.report().failures;
    const sinkFailure = failures.find((f) => f.component === 'sink');
    return {
      stage: probed?.type ?? null,
      rows: this.#totals.rows,
      objects: this.#totals.objects,
      bytes: this.#totals.bytes,
      lag: probed?.lag ?? null,
      checkpointId: this.#committed ?? probed?.checkpoint ?? null,
      alerts: this.#id?.alerts ? { detected: this.#totals.detected, sent: this.#totals.sent, dropped: this.#totals.dropped } : null,
      sink: {
        kind: this.#sinkKind,
        state: sinkFailure ? 'failing' : this.#retrying ? 'retrying' : 'ok',
        detail: sinkFailure?.reason ?? this.#retrying,
      },
      failures,
    };
  }

  get #sinkKind(): 'lake' | 's3' {
    return this.#id?.sink ?? 'lake';
  }

  /** Asks the probes (at most every PROBE_EVERY_MS unless `scrape`) and sets the gauges that mirror them. */
  #refresh(scrape: boolean) {
    const now = performance.now();
    if (this.#probes && (scrape || now - this.#probedAt >= PROBE_EVERY_MS)) {
      this.#probedAt = now;
      try {
        const checkpoint = this.#probes.checkpoint();
        this.#probed = { checkpoint, lag: this.#probes.lag(checkpoint), type: this.#probes.activeType() };
      } catch {
        // The database is busy or already closed: the last values stay.
      }
      for (const [receiver, size] of this.#queues) {
        try {
          this.#s.queueDepth.set({ receiver }, size());
        } catch {
          // The private file is busy: the last depth stays.
        }
      }
    }
    const p = this.#probed;
    if (p) {
      this.#s.lagRows.set(p.lag.rows);
      if (p.lag.seconds !== null) this.#s.lagSeconds.set(p.lag.seconds);
      if (p.checkpoint > Number.MIN_SAFE_INTEGER) this.#s.checkpoint.set(p.checkpoint);
      for (const t of PIPELINE_TYPES) this.#s.pipelineType.set({ type: t }, t === p.type ? 1 : 0);
    }
    const report = this.#health.report();
    for (const c of ['sink', 'state', 'source', 'alerts'] as const) this.#s.healthy.set({ component: c }, report.failures.some((f) => f.component === c) ? 0 : 1);
    return p;
  }
}

const PRIORITIES = ['low', 'medium', 'high'] as const;

/** The dataset of an object key: its first path segment (`sensor_readings/year=…`), `_edgelake` for manifests. */
function datasetOf(key: string): string {
  const slash = key.indexOf('/');
  return slash > 0 ? key.slice(0, slash) : 'other';
}
