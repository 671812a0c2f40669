import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every series `/metrics` exposes, in one list (STYLE 6b): the facade (metrics.ts), the tests
 * and ops/grafana-dashboard.json are checked against it. Each carries `node` (a default label of
 * the registry); `stage` is the pipeline type where a series is about one. Counters describe
 * this process since it started; the lake's `pipeline_metrics`/`latency_metrics` datasets stay
 * the durable record.
 */

/** Batch durations, seconds: read → every object durable → committed. */
const BATCH_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Alert latencies, seconds, around the 1 s target of the brief. */
const ALERT_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The metric objects, created on one registry. */
export function defineSeries(registers: Registry[]) {
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Counter<L>({ name, help, labelNames, registers });
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]) => new Gauge<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) => new Histogram<L>({ name, help, labelNames, buckets, registers });
  return {
    info: gauge('edgelake_build_info', 'Always 1: the edgelake version and the sink kind of this run.', ['version', 'sink']),
    rowsRead: counter('edgelake_rows_read_total', 'Sensor rows read into batches about to upload (a batch replayed after a failure is read and counted again).', ['stage']),
    rowsWritten: counter('edgelake_rows_written_total', 'Sensor rows whose batch is durably in the lake (the checkpoint moved past them).', ['stage']),
    recordsWritten: counter('edgelake_records_written_total', 'Records the stage wrote for those rows (aggregated: one per sensor and window).', ['stage']),
    objects: counter('edgelake_objects_written_total', 'Objects durably written, per bucket and dataset (manifests as dataset _edgelake).', ['stage', 'bucket', 'dataset']),
    bytes: counter('edgelake_bytes_written_total', 'Bytes of the objects durably written, per bucket and dataset.', ['stage', 'bucket', 'dataset']),
    attempts: counter('edgelake_upload_attempts_total', 'Requests tried by the sink, each try counted (S3 operations; a lake folder counts its object writes as PutObject).', ['sink', 'operation']),
    retries: counter('edgelake_upload_retries_total', 'Tries that failed and were tried again, by error class.', ['sink', 'operation', 'error_class']),
    failures: counter('edgelake_upload_failures_total', 'Requests that failed for good (their retries used up), by error class.', ['sink', 'operation', 'error_class']),
    batchFailures: counter('edgelake_batch_failures_total', 'Batches that failed (the checkpoint stayed; the batch is replayed), by error code.', ['code']),
    batchDuration: histogram('edgelake_batch_duration_seconds', 'Time from reading a batch to its commit, seconds.', ['stage'], BATCH_BUCKETS),
    lagRows: gauge('edgelake_checkpoint_lag_rows', 'Rows between the checkpoint and the newest row of the sensor database (newest id minus the checkpoint id).', []),
    lagSeconds: gauge('edgelake_checkpoint_lag_seconds', 'Event time between the checkpoint row and the newest row of the sensor database, seconds (0 when caught up).', []),
    checkpoint: gauge('edgelake_checkpoint_id', 'The last sensor_readings id durably in the lake.', []),
    lastCommit: gauge('edgelake_last_commit_timestamp_seconds', 'When the last batch committed, Unix time in seconds.', []),
    pipelineType: gauge('edgelake_pipeline_type', 'The active pipeline type (1) and the others (0).', ['type']),
    healthy: gauge('edgelake_component_healthy', 'Whether a part of the run is healthy (1) or failing (0), as /healthz reports it.', ['component']),
    alertsDetected: counter('edgelake_alerts_detected_total', 'Alerts detected (new ones; a re-detection after a restart is not counted again).', ['priority']),
    alertsSent: counter('edgelake_alerts_sent_total', 'Alerts delivered to a webhook receiver.', ['receiver', 'priority']),
    alertsDropped: counter('edgelake_alerts_dropped_total', 'Undelivered alerts dropped from a full webhook queue (they stay in the emergency bucket).', ['receiver', 'priority']),
    alertsUploaded: counter('edgelake_alerts_uploaded_total', 'Alerts put into the emergency bucket.', ['priority']),
    alertLatency: histogram('edgelake_alert_detection_seconds', 'Event time to detection of each alert, seconds.', ['priority'], ALERT_BUCKETS),
    webhookPosts: counter('edgelake_webhook_posts_total', 'POSTs to a webhook receiver, by result (ok, failed).', ['receiver', 'result']),
    webhookLatency: histogram('edgelake_webhook_delivery_seconds', 'Event time to delivery at the receiver of each alert, seconds.', ['receiver'], ALERT_BUCKETS),
    queueDepth: gauge('edgelake_webhook_queue_depth', 'Alerts queued for a webhook receiver, not yet delivered.', ['receiver']),
  };
}

/** The metric objects of {@link defineSeries}. */
export type Series = ReturnType<typeof defineSeries>;

/** Names of every series edgelake itself defines (process_* and nodejs_* come from prom-client's defaults when served). */
export function seriesNames(): string[] {
  const registry = new Registry();
  defineSeries([registry]);
  return registry.getMetricsAsArray().map((m) => m.name);
}
