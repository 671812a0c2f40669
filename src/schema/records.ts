import { z } from 'zod';
import { METRICS, type Metric } from '../source/schema.ts';
import { PipelineStamp, STAMP_TYPES, STORED_COLUMNS, TYPED_COLUMNS, isoMs } from './columns.ts';

/**
 * Every record edgelake writes (contract §5), as strict zod schemas: the single source of truth
 * for the docs, the tests, the JSON Schema export and the Databricks / DuckDB table schemas.
 */

export { PipelineStamp } from './columns.ts';

/** Stage 1: the source row, every column as stored, plus `_pipeline`. */
export const IngestionRecord = z
  .strictObject({ ...STORED_COLUMNS, _pipeline: PipelineStamp })
  .describe('ingestion record: one sensor_readings row exactly as stored');
export type IngestionRecord = z.infer<typeof IngestionRecord>;

/** One failed check of a validated row. */
export const ValidationError = z
  .strictObject({
    field: z.string().describe('column that failed, e.g. "temperature"'),
    rule: z.string().describe('rule that failed, e.g. "range", "type", "required", "timestamp"'),
    value: z
      .union([z.string(), z.number(), z.boolean(), z.null()])
      .describe('offending value as stored (text stays text), e.g. 87.5 or "n/a"'),
    message: z.string().describe('human-readable explanation, e.g. "temperature 87.5 outside [-10, 45]"'),
  })
  .describe('one failed validation check');

/** `_validation`: the verdict on a row; invalid rows are kept and flagged, never dropped. */
export const Validation = z
  .strictObject({
    valid: z.boolean().describe('true when no check failed'),
    errors: z.array(ValidationError).describe('failed checks, empty when valid'),
  })
  .describe('validation verdict of the row');

/** Stage 2: typed columns plus `_validation` and `_pipeline`. */
export const ValidatedRecord = z
  .strictObject({ ...TYPED_COLUMNS, _validation: Validation, _pipeline: PipelineStamp })
  .describe('validated record: typed columns with the validation verdict');
export type ValidatedRecord = z.infer<typeof ValidatedRecord>;

const location = z
  .strictObject({
    city: z.string().nullable().describe('city of the node, e.g. "New York"; null when not configured'),
    country: z.string().nullable().describe('country of the node, e.g. "US"; null when not configured'),
    region: z.string().nullable().describe('region of the node, e.g. "us-east"; null when not configured'),
    datacenter: z.string().nullable().describe('site or datacenter of the node, e.g. "nyc-edge-3"; null when not configured'),
  })
  .describe('where the node is, from the identity file or NODE_* variables');

/** What the node looked like when it processed the batch. */
export const NodeSnapshot = z
  .strictObject({
    node_type: z.string().nullable().describe('kind of node, e.g. "edge-gateway"; null when not configured'),
    cpu_cores: z.int().describe('logical CPU cores of the host'),
    cpu_model: z.string().nullable().describe('CPU model name; null when the host does not report it'),
    memory_gb: z.number().describe('total memory in GB'),
    memory_free_gb: z.number().describe('free memory in GB when the snapshot was taken'),
    gpu_count: z.int().describe('GPUs declared for the node, 0 when none'),
    load_average: z.array(z.number()).describe('1, 5 and 15 minute load averages'),
    capabilities: z.array(z.string()).describe('declared capabilities, e.g. ["wasm", "simd"]'),
    location,
    taken_at: isoMs().describe('when the snapshot was taken (UTC, ms)'),
  })
  .describe('hardware and location of the node at processing time');

/** `_bacalhau_metadata`: a struct (not an array) describing the job that processed the row. */
export const BacalhauMetadata = z
  .strictObject({
    job_id: z.string().nullable().describe('BACALHAU_JOB_ID; null when not run by Bacalhau'),
    execution_id: z.string().nullable().describe('BACALHAU_EXECUTION_ID; null when not run by Bacalhau'),
    node_id: z.string().describe('node id: BACALHAU_NODE_ID, NODE_ID, the identity file, else the host name'),
    job_type: z.string().nullable().describe('BACALHAU_JOB_TYPE, e.g. "daemon"; null when not run by Bacalhau'),
    partition_index: z.int().nullable().describe('BACALHAU_PARTITION_INDEX; null when not set'),
    partition_count: z.int().nullable().describe('BACALHAU_PARTITION_COUNT; null when not set'),
    execution_time_ms: z.number().describe('time spent processing the batch, in ms'),
    node_snapshot: NodeSnapshot,
  })
  .describe('Bacalhau job and node context of the processing');

/** `_lineage`: where the row came from. */
export const Lineage = z
  .strictObject({
    source_file: z.string().describe('path of the source SQLite database, e.g. "/data/sensor_data.db"'),
    source_row_id: z.int().describe('sensor_readings.id of the source row'),
    processing_timestamp: isoMs().describe('when the row was processed (UTC, ms)'),
    pipeline_version: z.string().describe('edgelake version that processed it'),
  })
  .describe('lineage of the record back to its source row');

/** `_privacy`: how the coordinates were fuzzed. */
export const Privacy = z
  .strictObject({
    gps_fuzzed: z.boolean().describe('true when latitude/longitude hold fuzzed values'),
    fuzzing_radius_km: z.number().describe('maximum displacement in km'),
    fuzzing_method: z.string().describe('fuzzing algorithm, e.g. "uniform-disc"'),
    fuzzing_timestamp: isoMs().describe('when the fuzzing was applied (UTC, ms)'),
    fuzz_distance_m: z
      .number()
      .nullable()
      .describe('great-circle distance in m between true and fuzzed position; null without coordinates'),
  })
  .describe('GPS privacy treatment of the record');

/** Stage 3: validated record with job metadata, lineage and fuzzed coordinates. */
export const EnrichedRecord = z
  .strictObject({
    ...TYPED_COLUMNS,
    latitude: z.number().nullable().describe('fuzzed latitude in decimal degrees; null when the source had none'),
    longitude: z.number().nullable().describe('fuzzed longitude in decimal degrees; null when the source had none'),
    original_latitude: z
      .number()
      .nullable()
      .optional()
      .describe('true latitude; present only with --keep-original-gps'),
    original_longitude: z
      .number()
      .nullable()
      .optional()
      .describe('true longitude; present only with --keep-original-gps'),
    _validation: Validation,
    _bacalhau_metadata: BacalhauMetadata,
    _lineage: Lineage,
    _privacy: Privacy,
    _pipeline: PipelineStamp,
  })
  .describe('enriched record: validated record with job metadata, lineage and fuzzed GPS');
export type EnrichedRecord = z.infer<typeof EnrichedRecord>;

/** Alert priorities, most urgent first. */
export const ALERT_PRIORITIES = ['high', 'medium', 'low', 'none'] as const;
export const AlertPriority = z.enum(ALERT_PRIORITIES);

type Stat = 'min' | 'max' | 'avg' | 'stddev';
type MetricShape = { [K in `${Metric}_count`]: z.ZodInt } & { [K in `${Metric}_${Stat}`]: z.ZodNullable<z.ZodNumber> };

/** `${metric}_count|_min|_max|_avg|_stddev` for each of the five metrics, in metric order. */
const METRIC_FIELDS = Object.fromEntries(
  METRICS.flatMap((m) => {
    const stat = (what: string) => z.number().nullable().describe(`${what} of ${m} in the window; null when no values`);
    return [
      [`${m}_count`, z.int().describe(`number of non-null ${m} values in the window`)],
      [`${m}_min`, stat('minimum')],
      [`${m}_max`, stat('maximum')],
      [`${m}_avg`, stat('mean')],
      [`${m}_stddev`, stat('population standard deviation')],
    ];
  }),
) as MetricShape;

/** Stage 4: one record per (sensor_id, 5-minute event-time window). */
export const AggregatedRecord = z
  .strictObject({
    window_start: isoMs().describe('start of the window, inclusive (UTC, ms)'),
    window_end: isoMs().describe('end of the window, exclusive (UTC, ms)'),
    sensor_id: z.string().nullable().describe('sensor of the window; null groups readings without a sensor id'),
    record_count: z.int().describe('readings in the window'),
    ...METRIC_FIELDS,
    anomaly_count: z.int().describe('readings scored or flagged as anomalous'),
    max_anomaly_score: z.number().describe('highest anomaly score in the window, 0..1'),
    alert_priority: AlertPriority.describe('priority of the window: high | medium | low | none'),
    first_id: z.int().describe('smallest sensor_readings.id in the window'),
    last_id: z.int().describe('largest sensor_readings.id in the window'),
    is_correction: z
      .boolean()
      .describe('true when this record restates an already emitted window because late rows arrived'),
    late_rows: z.int().describe('rows that arrived after the window had been emitted (0 for a first emission)'),
    _pipeline: PipelineStamp,
  })
  .describe('aggregated record: statistics of one sensor over a 5-minute window');
export type AggregatedRecord = z.infer<typeof AggregatedRecord>;

/** Stage 5: one record per anomalous reading, in the emergency bucket. */
export const AlertRecord = z
  .strictObject({
    alert_id: z.string().describe('deterministic id `${node_id}-${id}`, the same on a replay'),
    ...TYPED_COLUMNS,
    latitude: z.number().nullable().describe('as the active stage writes it: fuzzed under enriched (see _privacy), null under the other stages'),
    longitude: z.number().nullable().describe('as the active stage writes it: fuzzed under enriched (see _privacy), null under the other stages'),
    original_latitude: z.number().nullable().optional().describe('true latitude; present only with --keep-original-gps'),
    original_longitude: z.number().nullable().optional().describe('true longitude; present only with --keep-original-gps'),
    _privacy: Privacy.optional().describe('under enriched: how the coordinates were fuzzed (the same block as the stage\'s records)'),
    anomaly_score: z.number().describe('anomaly score of the reading, 0..1'),
    alert_priority: AlertPriority.describe('priority of the alert: high | medium | low | none'),
    reasons: z.array(z.string()).describe('why it was raised, e.g. ["temperature z=4.2", "sensor anomaly_flag"]'),
    event_time: isoMs().describe('event time of the reading (UTC, ms); the processing time when it had none'),
    detected_at: isoMs().describe('when the edge detected it (UTC, ms)'),
    latency_ms: z.number().describe('detected_at − event_time, in ms'),
    _pipeline: PipelineStamp,
  })
  .describe('alert record: an anomalous reading with its score and priority');
export type AlertRecord = z.infer<typeof AlertRecord>;

/** Per-batch volume metrics, one record per uploaded batch, in the metrics bucket. */
export const PipelineMetricsRecord = z
  .strictObject({
    pipeline_type: z.enum(STAMP_TYPES).describe('stage that processed the batch, e.g. "aggregated"'),
    node_id: z.string().describe('edge node id'),
    batch_id: z.string().describe('deterministic batch id'),
    record_count: z.int().describe('records written for the batch'),
    data_size: z.int().describe('bytes written (compressed objects)'),
    raw_size: z.int().describe('bytes of the source rows as SQLite stores them'),
    processing_time: z.number().describe('processing time of the batch in ms, read to durable upload'),
    timestamp: isoMs().describe('when the batch became durable (UTC, ms)'),
    objects_written: z.int().describe('objects uploaded for the batch'),
    records_in: z.int().describe('source rows read for the batch'),
    reduction_pct: z.number().describe('100 × (1 − data_size / raw_size): volume saved versus the raw rows, in %'),
    invalid_count: z.int().nullable().describe('rows that failed validation; null for stages that do not validate'),
    run: z.enum(['live', 'reprocess']).describe('"live": the node\'s own cursor; "reprocess": history run again through a stage (run --from-id)'),
    flush: z.boolean().describe('true for the final flush of a stateful stage (windows still open at the end of run --once): records_in is 0, record_count the windows emitted'),
    _pipeline: PipelineStamp,
  })
  .describe('pipeline metrics record: volume and time of one batch');
export type PipelineMetricsRecord = z.infer<typeof PipelineMetricsRecord>;

/** Per-batch latency metrics, in the metrics bucket. */
export const LatencyMetricsRecord = z
  .strictObject({
    processing_location: z.enum(['edge', 'cloud']).describe('where the processing ran: "edge" for edgelake on the node, "cloud" for the measured cloud-only baseline'),
    node_id: z.string().describe('edge node id'),
    batch_id: z.string().describe('deterministic batch id'),
    pipeline_type: z.enum(STAMP_TYPES).describe('stage that processed the batch'),
    end_to_end_latency: z
      .number()
      .nullable()
      .describe('mean over the batch rows of event time → object durable, in ms; null when no row had a plausible event time (a cloud baseline landing of such rows only)'),
    p50: z.number().optional().describe('median row latency of the batch in ms'),
    p95: z.number().optional().describe('95th percentile row latency of the batch in ms'),
    p99: z.number().optional().describe('99th percentile row latency of the batch in ms'),
    row_count: z.int().optional().describe('rows (or alerts) behind the latency figures, to weight them when combining batches'),
    first_id: z.int().optional().describe('smallest sensor_readings.id behind the figures (the cloud baseline\'s records: of the raw object, or the alerted reading)'),
    last_id: z.int().optional().describe('largest sensor_readings.id behind the figures'),
    object_bytes: z.int().optional().describe('cloud baseline, raw landings: bytes of the raw object the node shipped (to compare the same rows with the edge)'),
    run: z.enum(['live', 'reprocess']).optional().describe('"live" or "reprocess", as in pipeline_metrics'),
    timestamp: isoMs().describe('when the batch became durable (UTC, ms)'),
    _pipeline: PipelineStamp,
  })
  .describe('latency metrics record: event-to-lake latency of one batch');
export type LatencyMetricsRecord = z.infer<typeof LatencyMetricsRecord>;
