import { DATABRICKS, DUCKDB, haversineMetersSql, type SqlDialect } from './dialect.ts';

/**
 * The demo's five queries, corrected against the real record shapes, and the dashboard
 * queries, each written once and rendered for Databricks and for the local DuckDB preview
 * (which exposes the same `sensor_data.<table>` names as views over the lake folder).
 *
 * Corrections to the demo brief: query 1 summed batches as "record_count" (it now sums the
 * records); query 3 exploded `_bacalhau_metadata`, which is a struct (it is read with dots);
 * query 4 measured the fuzzing with `111111 * sqrt(dlat² + dlon²)`, which ignores cos(latitude)
 * (it now reads `_privacy.fuzz_distance_m`, and recomputes a haversine distance only when the
 * original coordinates were kept); query 5 compared the boolean `anomaly_flag` with 1.
 */

/** Assumed internet egress price in USD per GB for the cost-savings query (AWS first tier). */
export const EGRESS_USD_PER_GB = 0.09;

/** One query, dialect-independent. */
export interface QueryDef {
  /** Stable identifier, e.g. `demo_1_volume_reduction`. */
  readonly name: string;
  readonly title: string;
  readonly kind: 'demo' | 'dashboard';
  sql(d: SqlDialect): string;
}

/** One query rendered for both engines. */
export interface RenderedQuery {
  readonly name: string;
  readonly title: string;
  readonly kind: 'demo' | 'dashboard';
  readonly databricksSql: string;
  readonly duckdbSql: string;
}

const T = (table: string) => `sensor_data.${table}`;

/** Every query, demo queries first in the brief's order. */
export const QUERY_DEFS: readonly QueryDef[] = [
  {
    name: 'demo_1_volume_reduction',
    title: 'Data volume reduction by pipeline stage',
    kind: 'demo',
    sql: () => `SELECT
  pipeline_type,
  COUNT(*) AS batches,
  SUM(records_in) AS records_in,
  SUM(record_count) AS records_written,
  SUM(raw_size) AS raw_bytes,
  SUM(data_size) AS bytes_written,
  ROUND(100 * (1 - SUM(data_size) / NULLIF(SUM(raw_size), 0)), 1) AS reduction_pct,
  AVG(processing_time) AS avg_process_time_ms
FROM ${T('pipeline_metrics')}
GROUP BY pipeline_type
ORDER BY pipeline_type`,
  },
  {
    name: 'demo_2_latency',
    title: 'Edge processing latency over the last hour (event time to object durable)',
    kind: 'demo',
    sql: (d) => `SELECT
  processing_location,
  COUNT(*) AS batches,
  AVG(end_to_end_latency) AS avg_latency_ms,
  ${d.percentile('end_to_end_latency', 0.5)} AS p50_latency_ms,
  ${d.percentile('end_to_end_latency', 0.95)} AS p95_latency_ms
FROM ${T('latency_metrics')}
WHERE timestamp > ${d.now} - INTERVAL 1 HOUR
GROUP BY processing_location`,
  },
  {
    name: 'demo_3_node_performance',
    title: 'Bacalhau node performance and capabilities',
    kind: 'demo',
    sql: () => `SELECT
  _bacalhau_metadata.node_id AS node_id,
  _bacalhau_metadata.node_snapshot.node_type AS node_type,
  _bacalhau_metadata.node_snapshot.cpu_cores AS cpu_cores,
  _bacalhau_metadata.node_snapshot.memory_gb AS memory_gb,
  _bacalhau_metadata.node_snapshot.gpu_count AS gpu_count,
  _bacalhau_metadata.node_snapshot.capabilities AS capabilities,
  _bacalhau_metadata.node_snapshot.location.city AS city,
  _bacalhau_metadata.node_snapshot.location.datacenter AS datacenter,
  COUNT(DISTINCT _bacalhau_metadata.job_id) AS jobs_processed,
  COUNT(*) AS records_processed,
  AVG(_bacalhau_metadata.execution_time_ms) AS avg_execution_ms,
  MIN(_bacalhau_metadata.execution_time_ms) AS min_execution_ms,
  MAX(_bacalhau_metadata.execution_time_ms) AS max_execution_ms
FROM ${T('sensor_readings_enriched')}
WHERE _bacalhau_metadata IS NOT NULL
GROUP BY ALL
ORDER BY records_processed DESC`,
  },
  {
    name: 'demo_4_gps_privacy',
    title: 'GPS privacy protection (fuzzing distance per reading)',
    kind: 'demo',
    sql: () => `SELECT
  sensor_id,
  latitude AS fuzzy_latitude,
  longitude AS fuzzy_longitude,
  ROUND(_privacy.fuzz_distance_m, 2) AS fuzzing_distance_meters,
  _privacy.fuzzing_radius_km AS fuzzing_radius_km,
  _privacy.fuzzing_method AS fuzzing_method,
  _privacy.fuzzing_timestamp AS fuzzing_timestamp,
  original_latitude,
  original_longitude,
  -- only with --keep-original-gps: a haversine check of fuzz_distance_m (null otherwise)
  ROUND(${haversineMetersSql('original_latitude', 'original_longitude', 'latitude', 'longitude')}, 2) AS recomputed_distance_meters
FROM ${T('sensor_readings_enriched')}
WHERE _privacy.gps_fuzzed = true
ORDER BY id
LIMIT 10`,
  },
  {
    name: 'demo_5_geography',
    title: 'Geographic distribution of edge processing',
    kind: 'demo',
    sql: () => `SELECT
  _bacalhau_metadata.node_snapshot.location.country AS country,
  _bacalhau_metadata.node_snapshot.location.city AS city,
  _bacalhau_metadata.node_snapshot.location.datacenter AS datacenter,
  COUNT(DISTINCT _bacalhau_metadata.node_id) AS unique_nodes,
  COUNT(DISTINCT _bacalhau_metadata.job_id) AS unique_jobs,
  COUNT(*) AS records_processed,
  AVG(_bacalhau_metadata.execution_time_ms) AS avg_execution_ms,
  COUNT_IF(anomaly_flag) AS anomalies_detected
FROM ${T('sensor_readings_enriched')}
WHERE _bacalhau_metadata IS NOT NULL
GROUP BY ALL
ORDER BY records_processed DESC`,
  },
  {
    name: 'dash_volume_by_stage',
    title: 'Volume by stage over time, with reduction versus the raw rows',
    kind: 'dashboard',
    sql: () => `SELECT
  date_trunc('hour', timestamp) AS hour,
  pipeline_type,
  SUM(records_in) AS records_in,
  SUM(record_count) AS records_written,
  SUM(raw_size) AS raw_bytes,
  SUM(data_size) AS bytes_written,
  ROUND(100 * (1 - SUM(data_size) / NULLIF(SUM(raw_size), 0)), 1) AS reduction_pct
FROM ${T('pipeline_metrics')}
GROUP BY ALL
ORDER BY hour, pipeline_type`,
  },
  {
    name: 'dash_latency_percentiles',
    title: 'Event-to-lake latency percentiles per minute',
    kind: 'dashboard',
    sql: (d) => `SELECT
  date_trunc('minute', timestamp) AS minute,
  pipeline_type,
  COUNT(*) AS batches,
  ${d.percentile('end_to_end_latency', 0.5)} AS p50_ms,
  ${d.percentile('end_to_end_latency', 0.95)} AS p95_ms,
  ${d.percentile('end_to_end_latency', 0.99)} AS p99_ms
FROM ${T('latency_metrics')}
GROUP BY ALL
ORDER BY minute, pipeline_type`,
  },
  {
    name: 'dash_anomalies_by_priority',
    title: 'Alerts by priority per minute, with event-to-alert latency',
    kind: 'dashboard',
    sql: (d) => `SELECT
  date_trunc('minute', event_time) AS minute,
  alert_priority,
  COUNT(*) AS alerts,
  AVG(latency_ms) AS avg_latency_ms,
  ${d.percentile('latency_ms', 0.95)} AS p95_latency_ms,
  COUNT_IF(latency_ms < 1000) AS under_one_second
FROM ${T('alerts')}
GROUP BY ALL
ORDER BY minute, alert_priority`,
  },
  {
    name: 'dash_sensor_positions',
    title: 'Latest fuzzed position of every sensor',
    kind: 'dashboard',
    sql: () => `SELECT
  sensor_id,
  max_by(location, id) AS location,
  max_by(latitude, id) AS latitude,
  max_by(longitude, id) AS longitude,
  COUNT(*) AS readings,
  COUNT_IF(anomaly_flag) AS anomalies
FROM ${T('sensor_readings_enriched')}
WHERE latitude IS NOT NULL AND longitude IS NOT NULL
GROUP BY sensor_id
ORDER BY sensor_id`,
  },
  {
    name: 'dash_node_job_distribution',
    title: 'Records by node and Bacalhau job',
    kind: 'dashboard',
    sql: () => `SELECT
  _bacalhau_metadata.node_id AS node_id,
  _bacalhau_metadata.job_id AS job_id,
  _bacalhau_metadata.job_type AS job_type,
  COUNT(*) AS records,
  MIN(timestamp) AS first_event,
  MAX(timestamp) AS last_event
FROM ${T('sensor_readings_enriched')}
GROUP BY ALL
ORDER BY records DESC`,
  },
  {
    name: 'dash_transfer_cost_savings',
    title: `Transfer cost savings per stage (egress at $${EGRESS_USD_PER_GB}/GB)`,
    kind: 'dashboard',
    sql: () => `SELECT
  pipeline_type,
  SUM(raw_size) AS raw_bytes,
  SUM(data_size) AS bytes_written,
  SUM(raw_size) - SUM(data_size) AS bytes_saved,
  ROUND(SUM(raw_size) / 1e9 * ${EGRESS_USD_PER_GB}, 6) AS raw_transfer_usd,
  ROUND(SUM(data_size) / 1e9 * ${EGRESS_USD_PER_GB}, 6) AS actual_transfer_usd,
  ROUND(100 * (1 - SUM(data_size) / NULLIF(SUM(raw_size), 0)), 1) AS savings_pct
FROM ${T('pipeline_metrics')}
GROUP BY pipeline_type
ORDER BY pipeline_type`,
  },
  {
    name: 'dash_privacy_compliance',
    title: 'Share of enriched readings with fuzzed GPS (target 100%)',
    kind: 'dashboard',
    sql: () => `SELECT
  COUNT(*) AS readings_with_position,
  COUNT_IF(_privacy.gps_fuzzed) AS fuzzed,
  ROUND(100 * COUNT_IF(_privacy.gps_fuzzed) / NULLIF(COUNT(*), 0), 2) AS fuzzed_pct
FROM ${T('sensor_readings_enriched')}
WHERE latitude IS NOT NULL AND longitude IS NOT NULL`,
  },
];

/** Every query rendered for Databricks and DuckDB. */
export function renderedQueries(): RenderedQuery[] {
  return QUERY_DEFS.map((q) => ({
    name: q.name,
    title: q.title,
    kind: q.kind,
    databricksSql: q.sql(DATABRICKS),
    duckdbSql: q.sql(DUCKDB),
  }));
}
