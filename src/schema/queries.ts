import {
  CATALOG_PARAM,
  DATABRICKS,
  SCHEMA_PARAM,
  duckdbDialect,
  haversineMetersSql,
  paramMarkers,
  qualifyTables,
  type QueryParam,
  type SqlDialect,
} from './dialect.ts';
import type { LakeviewPlacement } from './lakeview-spec.ts';
import { AlertRecord } from './records.ts';

/**
 * The demo's five queries, corrected against the real record shapes, and the dashboard
 * queries, each written once and rendered for Databricks (databricks/*.sql, the AI/BI dashboard
 * databricks/edgelake.lvdash.json) and for the local DuckDB preview (`edgelake query`, the local
 * dashboard), which exposes the same `sensor_data.<table>` names as views over the lake folder.
 * Tables are written with those logical names; the Databricks rendering qualifies them with the
 * `:catalog` and `:schema` parameters (dialect.ts).
 *
 * Corrections to the demo brief: query 1 summed batches as "record_count" (it now sums the
 * records); query 2 took percentiles over per-batch means and mixed alert rows with batch rows
 * (it now reads the per-row percentiles each batch records, alerts apart); query 3 exploded
 * `_bacalhau_metadata`, which is a struct (it is read with dots), and counted job ids, which a
 * daemon job shares across nodes (it counts executions); query 4 measured the fuzzing with
 * `111111 * sqrt(dlat² + dlon²)`, which ignores cos(latitude) (it now reads
 * `_privacy.fuzz_distance_m`, and recomputes a haversine distance only when the original
 * coordinates were kept); query 5 compared the boolean `anomaly_flag` with 1 and counted the
 * sensor's own flag (it counts the readings the edge raised an alert for).
 *
 * Latency percentiles: a batch records the p50/p95/p99 of its rows. The queries report the
 * median batch's p50 and p95 and the worst batch's p99 (the local dashboard's figures), never
 * percentiles of per-batch means.
 */

/** Assumed internet egress price in USD per GB for the cost-savings query (AWS first tier). */
export const EGRESS_USD_PER_GB = 0.09;

/** The transfer price the cost queries use: `:usd_per_gb`, a dashboard parameter. Default {@link EGRESS_USD_PER_GB}. */
export const USD_PER_GB_PARAM: QueryParam = {
  keyword: 'usd_per_gb',
  title: 'Transfer price in USD per GB (10^9 bytes)',
  type: 'DECIMAL',
  default: EGRESS_USD_PER_GB,
};

/** Every parameter a query may use; `catalog` and `schema` come with every table reference. */
export const QUERY_PARAMS: readonly QueryParam[] = [CATALOG_PARAM, SCHEMA_PARAM, USD_PER_GB_PARAM];

/** The event → alert latency the brief targets, ms. */
export const ALERT_TARGET_MS = 1000;

/** One query, dialect-independent. */
export interface QueryDef {
  /** Stable identifier, e.g. `demo_1_volume_reduction`. */
  readonly name: string;
  readonly title: string;
  readonly kind: 'demo' | 'dashboard';
  sql(d: SqlDialect): string;
  /** Its page and widgets on the Databricks AI/BI dashboard; absent: not on the dashboard. */
  readonly lakeview?: LakeviewPlacement;
}

/** One query rendered for both engines. */
export interface RenderedQuery {
  readonly name: string;
  readonly title: string;
  readonly kind: 'demo' | 'dashboard';
  readonly databricksSql: string;
  readonly duckdbSql: string;
  /** The parameters its Databricks SQL uses (`:keyword` markers), in {@link QUERY_PARAMS} order. */
  readonly params: readonly QueryParam[];
  readonly lakeview?: LakeviewPlacement;
}

/** Options of {@link renderedQueries}. */
export interface RenderOptions {
  /** Parameter values for the DuckDB rendering, by keyword; absent ones take their default. */
  readonly params?: Readonly<Record<string, string | number>>;
}

const T = (table: string) => `sensor_data.${table}`;

/** `ORDER BY` key putting pipeline stages in pipeline order (ingestion → aggregated), others last. */
const stageOrder = (col: string) =>
  `CASE ${col} WHEN 'ingestion' THEN 1 WHEN 'validated' THEN 2 WHEN 'enriched' THEN 3 WHEN 'aggregated' THEN 4 ELSE 5 END`;

/** Readings the edge raised an alert for, one row per (node, reading): join key for "anomalies from the alerts table". */
const ALERTED_READINGS = `(SELECT DISTINCT _pipeline.node_id AS node_id, id, timestamp FROM ${T('alerts')})`;

/** Join condition of a reading `r` with {@link ALERTED_READINGS} `a` (ids restart when a sensor database is replaced: the event time disambiguates). */
const alertedJoin = (r: string, a: string) =>
  `${a}.node_id = ${r}._pipeline.node_id AND ${a}.id = ${r}.id AND ${a}.timestamp IS NOT DISTINCT FROM ${r}.timestamp`;

/**
 * Per node, the id range each stage processed (stages switch in order on one live cursor, so each
 * range is contiguous), and the raw objects the cloud-only baseline shipped with their id ranges
 * and bytes (its `latency_metrics` landing records). The bytes of a stage's rows in the ingestion
 * format are the bytes of the raw objects holding them; an object that also holds rows of another
 * stage counts by its share of the id range. `edge`: what each stage wrote, from pipeline_metrics.
 */
const SAME_ROWS_CTES = `ranges AS (
  SELECT 'ingestion' AS stage, _pipeline.node_id AS node_id, MIN(id) AS lo, MAX(id) AS hi FROM ${T('sensor_readings_ingestion')} GROUP BY _pipeline.node_id
  UNION ALL
  SELECT 'validated', _pipeline.node_id, MIN(id), MAX(id) FROM ${T('sensor_readings_validated')} GROUP BY _pipeline.node_id
  UNION ALL
  SELECT 'enriched', _pipeline.node_id, MIN(id), MAX(id) FROM ${T('sensor_readings_enriched')} GROUP BY _pipeline.node_id
  UNION ALL
  SELECT 'aggregated', _pipeline.node_id, MIN(first_id), MAX(last_id) FROM ${T('sensor_readings_aggregated')} GROUP BY _pipeline.node_id
),
raw_objects AS (
  SELECT node_id, first_id, last_id, object_bytes
  FROM ${T('latency_metrics')}
  WHERE processing_location = 'cloud' AND pipeline_type = 'ingestion' AND object_bytes IS NOT NULL
),
same_rows AS (
  SELECT r.stage, SUM(o.object_bytes * (LEAST(r.hi, o.last_id) - GREATEST(r.lo, o.first_id) + 1) / (o.last_id - o.first_id + 1)) AS raw_bytes
  FROM ranges AS r
  JOIN raw_objects AS o ON o.node_id = r.node_id AND o.first_id <= r.hi AND o.last_id >= r.lo
  GROUP BY r.stage
),
edge AS (
  SELECT pipeline_type AS stage, SUM(records_in) AS rows_in, SUM(record_count) AS records_written, SUM(data_size) AS bytes_written
  FROM ${T('pipeline_metrics')}
  GROUP BY pipeline_type
)`;

/** An alert whose reading has a plausible event time (none before 1970, none ahead of detection): only those have a latency. */
const PLAUSIBLE_ALERT = `timestamp >= TIMESTAMP '1970-01-01 00:00:00' AND latency_ms >= 0`;

/**
 * One row per alert with its event → alert latency: the edge's alerts (detected on the node) and
 * the cloud-only baseline's detections (one latency_metrics record per alert, event → detected
 * centrally), both over readings with a plausible event time.
 */
const ALERT_LATENCY_CTES = `alert_rows AS (
  SELECT 'edge' AS processing_location, latency_ms FROM ${T('alerts')} WHERE ${PLAUSIBLE_ALERT}
  UNION ALL
  SELECT 'cloud', end_to_end_latency FROM ${T('latency_metrics')} WHERE processing_location = 'cloud' AND pipeline_type = 'alerts'
)`;

/** Every position (latitude/longitude pair, kept originals counted apart) in every bucket that has coordinates, and how many are fuzzed. */
const GPS_CTES = `gps AS (
  SELECT 'ingestion' AS bucket, COUNT_IF(latitude IS NOT NULL OR longitude IS NOT NULL) AS positions, 0 AS fuzzed FROM ${T('sensor_readings_ingestion')}
  UNION ALL
  SELECT 'validated', COUNT_IF(latitude IS NOT NULL OR longitude IS NOT NULL), 0 FROM ${T('sensor_readings_validated')}
  UNION ALL
  SELECT 'enriched',
    COUNT_IF(latitude IS NOT NULL OR longitude IS NOT NULL) + COUNT_IF(original_latitude IS NOT NULL OR original_longitude IS NOT NULL),
    COUNT_IF((latitude IS NOT NULL OR longitude IS NOT NULL) AND _privacy.gps_fuzzed)
  FROM ${T('sensor_readings_enriched')}
  UNION ALL
  SELECT 'alerts', COUNT_IF(latitude IS NOT NULL OR longitude IS NOT NULL)${'original_latitude' in AlertRecord.shape ? ' + COUNT_IF(original_latitude IS NOT NULL OR original_longitude IS NOT NULL)' : ''},
    ${'_privacy' in AlertRecord.shape ? 'COUNT_IF((latitude IS NOT NULL OR longitude IS NOT NULL) AND _privacy.gps_fuzzed)' : '0'}
  FROM ${T('alerts')}
)`;

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
    lakeview: {
      page: 'volume',
      widgets: [
        {
          kind: 'table',
          title: 'Demo query 1: volume by stage',
          description: 'reduction_pct compares the bytes written with the SQLite bytes of the source rows read',
          columns: ['pipeline_type', 'batches', 'records_in', 'records_written', 'raw_bytes', 'bytes_written', 'reduction_pct', 'avg_process_time_ms'],
        },
      ],
    },
  },
  {
    name: 'demo_2_latency',
    title: 'Edge vs cloud latency over the last hour: event to lake (batches) and event to alert, from per-row percentiles',
    kind: 'demo',
    sql: (d) => `SELECT
  processing_location,
  -- alert rows measure event → alert, batch rows event → object durable: never mixed
  CASE WHEN pipeline_type = 'alerts' THEN 'alert' ELSE 'lake' END AS path,
  COUNT(*) AS batches,
  AVG(end_to_end_latency) AS avg_latency_ms,
  -- each batch records the percentiles of its rows: the median batch's p50 and p95, the worst batch's p99
  ${d.percentile('p50', 0.5)} AS p50_latency_ms,
  ${d.percentile('p95', 0.5)} AS p95_latency_ms,
  MAX(p99) AS p99_latency_ms
FROM ${T('latency_metrics')}
WHERE timestamp > ${d.now} - INTERVAL 1 HOUR
GROUP BY ALL
ORDER BY processing_location, path`,
    lakeview: {
      page: 'latency',
      widgets: [
        {
          kind: 'table',
          title: 'Demo query 2: edge vs cloud latency, last hour',
          description: 'p50/p95: median batch; p99: worst batch (ms)',
          columns: ['processing_location', 'path', 'batches', 'avg_latency_ms', 'p50_latency_ms', 'p95_latency_ms', 'p99_latency_ms'],
        },
      ],
    },
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
  -- a daemon or ops job is one job id on every node, run as one execution per node: count executions
  COUNT(DISTINCT _bacalhau_metadata.execution_id) AS jobs_processed,
  COUNT(*) AS records_processed,
  AVG(_bacalhau_metadata.execution_time_ms) AS avg_execution_ms,
  MIN(_bacalhau_metadata.execution_time_ms) AS min_execution_ms,
  MAX(_bacalhau_metadata.execution_time_ms) AS max_execution_ms
FROM ${T('sensor_readings_enriched')}
WHERE _bacalhau_metadata IS NOT NULL
GROUP BY ALL
ORDER BY records_processed DESC`,
    lakeview: {
      page: 'fleet',
      widgets: [
        {
          kind: 'table',
          title: 'Demo query 3: node performance and capabilities',
          description: 'jobs_processed counts Bacalhau executions (one per node and job run)',
          columns: [
            'node_id',
            'node_type',
            'cpu_cores',
            'memory_gb',
            'gpu_count',
            'capabilities',
            'city',
            'datacenter',
            'jobs_processed',
            'records_processed',
            'avg_execution_ms',
            'min_execution_ms',
            'max_execution_ms',
          ],
        },
      ],
    },
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
    lakeview: {
      page: 'metrics',
      widgets: [
        {
          kind: 'table',
          title: 'Demo query 4: GPS fuzzing per reading',
          description: 'original_* and recomputed_distance_meters only with --keep-original-gps; null otherwise',
          columns: [
            'sensor_id',
            'fuzzy_latitude',
            'fuzzy_longitude',
            'fuzzing_distance_meters',
            'fuzzing_radius_km',
            'fuzzing_method',
            'fuzzing_timestamp',
            'recomputed_distance_meters',
          ],
        },
      ],
    },
  },
  {
    name: 'demo_5_geography',
    title: 'Geographic distribution of edge processing',
    kind: 'demo',
    sql: () => `WITH processed AS (
  SELECT
    e._bacalhau_metadata.node_snapshot.location.country AS country,
    e._bacalhau_metadata.node_snapshot.location.city AS city,
    e._bacalhau_metadata.node_snapshot.location.datacenter AS datacenter,
    e._bacalhau_metadata.node_id AS node_id,
    e._bacalhau_metadata.execution_id AS execution_id,
    e._bacalhau_metadata.execution_time_ms AS execution_time_ms,
    a.id IS NOT NULL AS alerted
  FROM ${T('sensor_readings_enriched')} AS e
  -- anomalies are the readings the edge raised an alert for, not the sensor's own flag
  LEFT JOIN ${ALERTED_READINGS} AS a ON ${alertedJoin('e', 'a')}
  WHERE e._bacalhau_metadata IS NOT NULL
)
SELECT
  country,
  city,
  datacenter,
  COUNT(DISTINCT node_id) AS unique_nodes,
  -- one execution per node and job run (a daemon job shares its job id across nodes)
  COUNT(DISTINCT execution_id) AS unique_jobs,
  COUNT(*) AS records_processed,
  AVG(execution_time_ms) AS avg_execution_ms,
  COUNT_IF(alerted) AS anomalies_detected,
  ROUND(100 * COUNT_IF(alerted) / COUNT(*), 2) AS anomaly_rate_pct
FROM processed
GROUP BY ALL
ORDER BY records_processed DESC`,
    lakeview: {
      page: 'fleet',
      widgets: [
        {
          kind: 'table',
          title: 'Demo query 5: where processing happens',
          description: 'unique_jobs counts Bacalhau executions; anomalies_detected counts readings with an edge alert',
          columns: ['country', 'city', 'datacenter', 'unique_nodes', 'unique_jobs', 'records_processed', 'avg_execution_ms', 'anomalies_detected', 'anomaly_rate_pct'],
        },
      ],
    },
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
    lakeview: {
      page: 'volume',
      widgets: [
        { kind: 'bar', title: 'Bytes written to the lake per hour', x: 'hour', xScale: 'temporal', y: 'bytes_written', color: 'pipeline_type', stacked: true },
      ],
    },
  },
  {
    name: 'dash_volume_same_rows',
    title: 'Bytes per source row of every stage against the raw rows shipped as ingestion objects',
    kind: 'dashboard',
    sql: () => `WITH stage AS (
  SELECT
    pipeline_type,
    SUM(records_in) AS rows_in,
    SUM(record_count) AS records_written,
    SUM(raw_size) AS sqlite_bytes,
    SUM(data_size) AS bytes_written
  FROM ${T('pipeline_metrics')}
  GROUP BY pipeline_type
),
-- the raw path: what one source row costs shipped as it is stored, measured on the ingestion stage
ing AS (
  SELECT SUM(data_size) AS bytes_written, SUM(records_in) AS rows_in
  FROM ${T('pipeline_metrics')}
  WHERE pipeline_type = 'ingestion'
)
SELECT
  stage.pipeline_type,
  stage.rows_in,
  stage.records_written,
  stage.bytes_written,
  ROUND(stage.bytes_written / NULLIF(stage.rows_in, 0), 2) AS bytes_per_row,
  ROUND(ing.bytes_written / NULLIF(ing.rows_in, 0), 2) AS raw_bytes_per_row,
  ROUND(stage.sqlite_bytes / NULLIF(stage.rows_in, 0), 2) AS sqlite_bytes_per_row,
  -- bytes × raw rows against rows × raw bytes, both as doubles: for ingestion itself the same two products
  -- (so exactly 0, never a rounding's -0.0), and no BIGINT product to overflow on a large lake
  ROUND(100 * (1 - (CAST(stage.bytes_written AS DOUBLE) * ing.rows_in) / NULLIF(CAST(stage.rows_in AS DOUBLE) * ing.bytes_written, 0)), 1) AS reduction_vs_raw_pct
FROM stage CROSS JOIN ing
ORDER BY ${stageOrder('stage.pipeline_type')}`,
    lakeview: {
      page: 'volume',
      widgets: [
        {
          kind: 'counter',
          title: 'Largest reduction of a stage',
          description: 'bytes per source row vs the raw rows shipped as ingestion objects',
          value: { field: 'reduction_vs_raw_pct', agg: 'MAX' },
          format: { decimals: 1, suffix: '%' },
        },
        { kind: 'counter', title: 'Source rows processed', value: { field: 'rows_in', agg: 'SUM' }, format: { compact: true, decimals: 1 } },
        { kind: 'counter', title: 'Bytes written to the lake', value: { field: 'bytes_written', agg: 'SUM' }, format: { compact: true, decimals: 1 } },
        {
          kind: 'bar',
          title: 'Bytes per source row: raw vs each stage',
          x: 'pipeline_type',
          y: ['raw_bytes_per_row', 'bytes_per_row'],
        },
        { kind: 'bar', title: 'Reduction vs raw rows, %', x: 'pipeline_type', y: 'reduction_vs_raw_pct' },
        {
          kind: 'table',
          title: 'Volume for the same rows',
          columns: ['pipeline_type', 'rows_in', 'records_written', 'bytes_written', 'bytes_per_row', 'raw_bytes_per_row', 'sqlite_bytes_per_row', 'reduction_vs_raw_pct'],
        },
      ],
    },
  },
  {
    name: 'dash_latency_percentiles',
    title: 'Latency percentiles per minute, by location and stage (alerts apart), from per-row percentiles',
    kind: 'dashboard',
    sql: (d) => `SELECT
  date_trunc('minute', timestamp) AS minute,
  processing_location,
  pipeline_type,
  COUNT(*) AS batches,
  ${d.percentile('p50', 0.5)} AS p50_ms,
  ${d.percentile('p95', 0.5)} AS p95_ms,
  MAX(p99) AS p99_ms,
  ${ALERT_TARGET_MS} AS target_ms
FROM ${T('latency_metrics')}
-- explicit keys: GROUP BY ALL would group by the target_ms literal too
GROUP BY date_trunc('minute', timestamp), processing_location, pipeline_type
ORDER BY minute, processing_location, pipeline_type`,
    lakeview: {
      page: 'latency',
      widgets: [
        {
          kind: 'table',
          title: 'Latency per minute, location and stage',
          description: 'pipeline_type alerts: event → alert; other stages: event → object durable (ms)',
          columns: ['minute', 'processing_location', 'pipeline_type', 'batches', 'p50_ms', 'p95_ms', 'p99_ms'],
        },
      ],
    },
  },
  {
    name: 'dash_latency_edge_vs_cloud',
    title: 'p95 latency per minute, edge vs cloud, to the lake and to an alert, with the 1 s target',
    kind: 'dashboard',
    sql: (d) => {
      const p95 = (location: string, alerts: boolean) =>
        d.percentile(`CASE WHEN processing_location = '${location}' AND pipeline_type ${alerts ? '=' : '<>'} 'alerts' THEN p95 END`, 0.5);
      return `SELECT
  date_trunc('minute', timestamp) AS minute,
  ${p95('edge', true)} AS edge_alert_p95_ms,
  ${p95('cloud', true)} AS cloud_alert_p95_ms,
  ${p95('edge', false)} AS edge_lake_p95_ms,
  ${p95('cloud', false)} AS cloud_lake_p95_ms,
  ${ALERT_TARGET_MS} AS target_ms
FROM ${T('latency_metrics')}
GROUP BY date_trunc('minute', timestamp)
ORDER BY minute`;
    },
    lakeview: {
      page: 'latency',
      widgets: [
        {
          kind: 'line',
          title: 'p95 latency per minute: edge vs cloud, with the 1 s target',
          description: 'median batch p95 (ms); cloud rows come from the measured cloud-only baseline',
          x: 'minute',
          y: ['edge_alert_p95_ms', 'cloud_alert_p95_ms', 'edge_lake_p95_ms', 'cloud_lake_p95_ms', 'target_ms'],
          width: 12,
          height: 7,
        },
      ],
    },
  },
  {
    name: 'dash_latency_by_node',
    title: 'Latency by node: event to lake and event to alert, from per-row percentiles',
    kind: 'dashboard',
    sql: (d) => `SELECT
  node_id,
  processing_location,
  CASE WHEN pipeline_type = 'alerts' THEN 'alert' ELSE 'lake' END AS path,
  COUNT(*) AS batches,
  ${d.percentile('p50', 0.5)} AS p50_ms,
  ${d.percentile('p95', 0.5)} AS p95_ms,
  MAX(p99) AS p99_ms
FROM ${T('latency_metrics')}
GROUP BY ALL
ORDER BY node_id, processing_location, path`,
    lakeview: {
      page: 'fleet',
      widgets: [{ kind: 'bar', title: 'p95 latency by node (ms)', x: 'node_id', y: 'p95_ms', color: 'path' }],
    },
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
  COUNT_IF(latency_ms < ${ALERT_TARGET_MS}) AS under_one_second
FROM ${T('alerts')}
GROUP BY ALL
ORDER BY minute, alert_priority`,
    lakeview: {
      page: 'anomalies',
      widgets: [
        {
          kind: 'bar',
          title: 'Alerts per minute by priority',
          x: 'minute',
          xScale: 'temporal',
          y: 'alerts',
          color: 'alert_priority',
          stacked: true,
          width: 12,
        },
      ],
    },
  },
  {
    name: 'dash_alert_summary',
    title: 'Alerts raised at the edge, by priority, with per-row event-to-alert latency',
    kind: 'dashboard',
    sql: (d) => `SELECT
  COUNT(*) AS alerts,
  COUNT_IF(alert_priority = 'high') AS high,
  COUNT_IF(alert_priority = 'medium') AS medium,
  COUNT_IF(alert_priority = 'low') AS low,
  COUNT(DISTINCT sensor_id) AS sensors_alerting,
  ${d.percentile('latency_ms', 0.5)} AS p50_latency_ms,
  ${d.percentile('latency_ms', 0.99)} AS p99_latency_ms,
  ROUND(100 * COUNT_IF(latency_ms < ${ALERT_TARGET_MS}) / NULLIF(COUNT(*), 0), 2) AS under_one_second_pct
FROM ${T('alerts')}`,
    lakeview: {
      page: 'anomalies',
      widgets: [
        { kind: 'counter', title: 'Alerts', value: 'alerts', format: { compact: true, decimals: 1 } },
        { kind: 'counter', title: 'High-priority alerts', value: 'high', format: { compact: true, decimals: 1 } },
        { kind: 'counter', title: 'Event → alert p99', description: 'over every alert row (target < 1 s)', value: 'p99_latency_ms', format: { decimals: 0, suffix: ' ms' } },
        { kind: 'counter', title: 'Alerts under 1 s', value: 'under_one_second_pct', format: { decimals: 1, suffix: '%' } },
      ],
    },
  },
  {
    name: 'dash_sensor_positions',
    title: 'Latest fuzzed position of every sensor, with the readings the edge raised an alert for',
    kind: 'dashboard',
    sql: () => `SELECT
  e.sensor_id,
  max_by(e.location, e.id) AS location,
  max_by(e.latitude, e.id) AS latitude,
  max_by(e.longitude, e.id) AS longitude,
  COUNT(*) AS readings,
  COUNT(a.id) AS anomalies
FROM ${T('sensor_readings_enriched')} AS e
LEFT JOIN ${ALERTED_READINGS} AS a ON ${alertedJoin('e', 'a')}
WHERE e.latitude IS NOT NULL AND e.longitude IS NOT NULL
GROUP BY e.sensor_id
ORDER BY e.sensor_id`,
    lakeview: {
      page: 'anomalies',
      widgets: [
        {
          kind: 'map',
          title: 'Sensors (fuzzed positions): readings and alerts',
          latitude: 'latitude',
          longitude: 'longitude',
          size: 'readings',
          color: 'anomalies',
          colorScale: 'quantitative',
          extra: ['sensor_id', 'location'],
          width: 12,
        },
      ],
    },
  },
  {
    name: 'dash_node_positions',
    title: 'Where processing happens: every node at the centroid of its sensors, with records and executions',
    kind: 'dashboard',
    sql: () => `SELECT
  _bacalhau_metadata.node_id AS node_id,
  max_by(_bacalhau_metadata.node_snapshot.node_type, id) AS node_type,
  max_by(_bacalhau_metadata.node_snapshot.location.city, id) AS city,
  max_by(_bacalhau_metadata.node_snapshot.location.country, id) AS country,
  max_by(_bacalhau_metadata.node_snapshot.location.datacenter, id) AS datacenter,
  -- nodes carry no coordinates: place each at the centroid of the fuzzed positions it processed
  AVG(latitude) AS latitude,
  AVG(longitude) AS longitude,
  COUNT(DISTINCT sensor_id) AS sensors,
  COUNT(*) AS records,
  COUNT(DISTINCT _bacalhau_metadata.execution_id) AS executions,
  AVG(_bacalhau_metadata.execution_time_ms) AS avg_execution_ms
FROM ${T('sensor_readings_enriched')}
WHERE _bacalhau_metadata IS NOT NULL AND latitude IS NOT NULL AND longitude IS NOT NULL
GROUP BY _bacalhau_metadata.node_id
ORDER BY node_id`,
    lakeview: {
      page: 'fleet',
      widgets: [
        { kind: 'counter', title: 'Nodes processing', value: { field: 'node_id', agg: 'COUNT' }, format: { decimals: 0 } },
        { kind: 'counter', title: 'Bacalhau executions', value: { field: 'executions', agg: 'SUM' }, format: { decimals: 0 } },
        {
          kind: 'map',
          title: 'Nodes: where processing happens',
          description: 'each node at the centroid of the fuzzed positions of its sensors; size = records',
          latitude: 'latitude',
          longitude: 'longitude',
          size: 'records',
          color: 'node_id',
          extra: ['city', 'datacenter', 'node_type', 'executions', 'sensors'],
          width: 12,
        },
      ],
    },
  },
  {
    name: 'dash_node_job_distribution',
    title: 'Records by node and Bacalhau job',
    kind: 'dashboard',
    sql: () => `SELECT
  _bacalhau_metadata.node_id AS node_id,
  _bacalhau_metadata.job_id AS job_id,
  _bacalhau_metadata.job_type AS job_type,
  COUNT(DISTINCT _bacalhau_metadata.execution_id) AS executions,
  COUNT(*) AS records,
  AVG(_bacalhau_metadata.execution_time_ms) AS avg_execution_ms,
  MIN(timestamp) AS first_event,
  MAX(timestamp) AS last_event
FROM ${T('sensor_readings_enriched')}
GROUP BY ALL
ORDER BY records DESC`,
    lakeview: {
      page: 'fleet',
      widgets: [{ kind: 'bar', title: 'Records by node and job', x: 'node_id', y: 'records', color: 'job_id', stacked: true }],
    },
  },
  {
    name: 'dash_transfer_cost_savings',
    title: 'Transfer cost per stage against shipping the same rows raw, at the usd_per_gb price',
    kind: 'dashboard',
    sql: (d) => `WITH stage AS (
  SELECT pipeline_type, SUM(records_in) AS rows_in, SUM(raw_size) AS raw_bytes, SUM(data_size) AS bytes_written
  FROM ${T('pipeline_metrics')}
  GROUP BY pipeline_type
),
-- the raw path, measured: the ingestion stage's bytes and source rows (a row's raw cost is their ratio)
ing AS (
  SELECT SUM(data_size) AS bytes_written, SUM(records_in) AS rows_in
  FROM ${T('pipeline_metrics')}
  WHERE pipeline_type = 'ingestion'
),
-- the stage's rows shipped raw: rows × raw bytes ÷ raw rows, multiplied first (as doubles, so no BIGINT
-- product overflows), which for ingestion itself gives back its own bytes: savings exactly 0, never -0.0
costed AS (
  SELECT stage.*, CAST(stage.rows_in AS DOUBLE) * ing.bytes_written / NULLIF(ing.rows_in, 0) AS raw_format
  FROM stage CROSS JOIN ing
)
SELECT
  pipeline_type,
  rows_in,
  raw_bytes,
  bytes_written,
  ROUND(raw_format) AS raw_format_bytes,
  ROUND(raw_format - bytes_written) AS bytes_saved,
  ${d.param(USD_PER_GB_PARAM)} AS usd_per_gb,
  -- USD unrounded: a small lake costs fractions of a cent, the widgets format the figures
  raw_format / 1e9 * ${d.param(USD_PER_GB_PARAM)} AS raw_transfer_usd,
  bytes_written / 1e9 * ${d.param(USD_PER_GB_PARAM)} AS actual_transfer_usd,
  (raw_format - bytes_written) / 1e9 * ${d.param(USD_PER_GB_PARAM)} AS saved_usd,
  ROUND(100 * (1 - bytes_written / NULLIF(raw_format, 0)), 1) AS savings_pct
FROM costed
ORDER BY ${stageOrder('pipeline_type')}`,
    lakeview: {
      page: 'cost',
      widgets: [
        { kind: 'counter', title: 'Saved on transfer', value: { field: 'saved_usd', agg: 'SUM' }, format: { usd: true, decimals: 4 } },
        { kind: 'counter', title: 'Transfer cost paid', value: { field: 'actual_transfer_usd', agg: 'SUM' }, format: { usd: true, decimals: 4 } },
        { kind: 'counter', title: 'Same rows shipped raw', value: { field: 'raw_transfer_usd', agg: 'SUM' }, format: { usd: true, decimals: 4 } },
        { kind: 'counter', title: 'Price', value: { field: 'usd_per_gb', agg: 'MAX' }, format: { usd: true, decimals: 3, suffix: ' /GB' } },
        { kind: 'bar', title: 'Transfer cost per stage: raw vs shipped (USD)', x: 'pipeline_type', y: ['raw_transfer_usd', 'actual_transfer_usd'] },
        { kind: 'bar', title: 'Transfer cost saved per stage, %', x: 'pipeline_type', y: 'savings_pct' },
        {
          kind: 'table',
          title: 'Transfer cost per stage',
          description: 'raw_format_bytes: the same rows shipped as ingestion objects; raw_bytes: their SQLite size',
          columns: ['pipeline_type', 'rows_in', 'raw_bytes', 'raw_format_bytes', 'bytes_written', 'bytes_saved', 'raw_transfer_usd', 'actual_transfer_usd', 'saved_usd', 'savings_pct'],
        },
      ],
    },
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
    lakeview: {
      page: 'metrics',
      widgets: [
        { kind: 'counter', title: 'Enriched readings with fuzzed GPS', value: 'fuzzed_pct', format: { decimals: 2, suffix: '%' } },
        { kind: 'counter', title: 'Enriched readings with a position', value: 'readings_with_position', format: { compact: true, decimals: 1 } },
      ],
    },
  },
  {
    name: 'dash_rejects_by_rule',
    title: 'Rule violations of the readings that failed validation, by stage, rule and field',
    kind: 'dashboard',
    sql: (d) => `WITH failed AS (
  SELECT _pipeline.type AS stage, ${d.explode('_validation.errors')} AS error
  FROM ${T('sensor_readings_validated')}
  WHERE NOT _validation.valid
  UNION ALL
  SELECT _pipeline.type AS stage, ${d.explode('_validation.errors')} AS error
  FROM ${T('sensor_readings_enriched')}
  WHERE NOT _validation.valid
)
SELECT
  stage,
  error.rule AS rule,
  error.field AS field,
  COUNT(*) AS violations
FROM failed
GROUP BY ALL
ORDER BY violations DESC, stage, rule, field`,
    lakeview: {
      page: 'rejects',
      widgets: [
        { kind: 'bar', title: 'Violations by rule and field', x: 'rule', y: 'violations', color: 'field', stacked: true },
        { kind: 'table', title: 'Violations by stage, rule and field', columns: ['stage', 'rule', 'field', 'violations'] },
      ],
    },
  },
  {
    name: 'dash_validation_share',
    title: 'Valid and rejected readings per validating stage (rejects are kept and flagged)',
    kind: 'dashboard',
    sql: () => `WITH checked AS (
  SELECT _pipeline.type AS stage, _validation.valid AS valid FROM ${T('sensor_readings_validated')}
  UNION ALL
  SELECT _pipeline.type AS stage, _validation.valid AS valid FROM ${T('sensor_readings_enriched')}
)
SELECT
  stage,
  COUNT(*) AS readings,
  COUNT_IF(valid) AS valid,
  COUNT_IF(NOT valid) AS rejected,
  ROUND(100 * COUNT_IF(valid) / NULLIF(COUNT(*), 0), 2) AS valid_pct
FROM checked
GROUP BY stage
ORDER BY ${stageOrder('stage')}`,
    lakeview: {
      page: 'rejects',
      widgets: [
        { kind: 'counter', title: 'Readings validated', value: { field: 'readings', agg: 'SUM' }, format: { compact: true, decimals: 1 } },
        { kind: 'counter', title: 'Rejected (kept, flagged)', value: { field: 'rejected', agg: 'SUM' }, format: { compact: true, decimals: 1 } },
        { kind: 'table', title: 'Valid share per stage', columns: ['stage', 'readings', 'valid', 'rejected', 'valid_pct'] },
      ],
    },
  },
  // ---- Measured against the cloud-only baseline (src/cloud/): the demo's comparison and success metrics ----
  {
    name: 'metrics_volume_same_rows',
    title: 'Bytes each stage wrote against the bytes the same rows took shipped raw by the cloud-only baseline (ingestion format)',
    kind: 'dashboard',
    sql: () => `WITH ${SAME_ROWS_CTES}
SELECT
  e.stage AS pipeline_type,
  e.rows_in,
  e.records_written,
  e.bytes_written,
  CAST(ROUND(s.raw_bytes) AS BIGINT) AS raw_bytes_same_rows,
  ROUND(100 * (1 - e.bytes_written / NULLIF(s.raw_bytes, 0)), 1) AS reduction_pct
FROM edge AS e
LEFT JOIN same_rows AS s ON s.stage = e.stage
ORDER BY ${stageOrder('e.stage')}`,
  },
  {
    name: 'metrics_latency_edge_cloud',
    title: 'Event to alert (per alert row) and event to lake (median batch), edge vs the cloud-only baseline',
    kind: 'dashboard',
    sql: (d) => `WITH ${ALERT_LATENCY_CTES}
SELECT processing_location, 'alert' AS path, COUNT(*) AS n,
  ${d.percentile('latency_ms', 0.5)} AS p50_ms, ${d.percentile('latency_ms', 0.95)} AS p95_ms, ${d.percentile('latency_ms', 0.99)} AS p99_ms,
  ${ALERT_TARGET_MS} AS target_ms
FROM alert_rows
GROUP BY processing_location
UNION ALL
SELECT processing_location, 'lake' AS path, COUNT(*) AS n,
  ${d.percentile('p50', 0.5)} AS p50_ms, ${d.percentile('p95', 0.5)} AS p95_ms, CAST(NULL AS DOUBLE) AS p99_ms,
  ${ALERT_TARGET_MS} AS target_ms
FROM ${T('latency_metrics')}
WHERE pipeline_type <> 'alerts' AND p50 IS NOT NULL
GROUP BY processing_location
ORDER BY path, processing_location`,
  },
  {
    name: 'metrics_gps_by_bucket',
    title: 'Positions in every bucket and the share of them fuzzed (true coordinates anywhere count against privacy)',
    kind: 'dashboard',
    sql: () => `WITH ${GPS_CTES}
SELECT
  bucket,
  positions,
  fuzzed,
  ROUND(100 * fuzzed / NULLIF(positions, 0), 2) AS fuzzed_pct
FROM gps
ORDER BY ${stageOrder('bucket')}`,
  },
  {
    name: 'metrics_fleet_nodes',
    title: 'Every node: where it is (its identity), what it is, its Bacalhau executions, what it processed and how fast',
    kind: 'dashboard',
    sql: (d) => `WITH identity AS (
  SELECT
    _bacalhau_metadata.node_id AS node_id,
    max_by(_bacalhau_metadata.node_snapshot.location.city, id) AS city,
    max_by(_bacalhau_metadata.node_snapshot.location.country, id) AS country,
    max_by(_bacalhau_metadata.node_snapshot.location.region, id) AS region,
    max_by(_bacalhau_metadata.node_snapshot.location.datacenter, id) AS datacenter,
    max_by(_bacalhau_metadata.node_snapshot.node_type, id) AS node_type,
    max_by(_bacalhau_metadata.node_snapshot.cpu_cores, id) AS cpu_cores,
    max_by(_bacalhau_metadata.node_snapshot.memory_gb, id) AS memory_gb,
    max_by(_bacalhau_metadata.node_snapshot.gpu_count, id) AS gpu_count,
    max_by(_bacalhau_metadata.job_id, id) AS job_id,
    COUNT(DISTINCT _bacalhau_metadata.execution_id) AS executions
  FROM ${T('sensor_readings_enriched')}
  WHERE _bacalhau_metadata IS NOT NULL
  GROUP BY _bacalhau_metadata.node_id
),
volume AS (
  SELECT node_id, SUM(records_in) AS records, SUM(data_size) AS bytes_written
  FROM ${T('pipeline_metrics')}
  GROUP BY node_id
),
lake AS (
  SELECT node_id, ${d.percentile('p50', 0.5)} AS lake_p50_ms
  FROM ${T('latency_metrics')}
  WHERE processing_location = 'edge' AND pipeline_type <> 'alerts' AND p50 IS NOT NULL
  GROUP BY node_id
),
alerted AS (
  SELECT _pipeline.node_id AS node_id, COUNT(*) AS alerts, ${d.percentile('latency_ms', 0.5)} AS alert_p50_ms
  FROM ${T('alerts')}
  WHERE ${PLAUSIBLE_ALERT}
  GROUP BY _pipeline.node_id
)
SELECT
  v.node_id, i.city, i.country, i.region, i.datacenter, i.node_type, i.cpu_cores, i.memory_gb, i.gpu_count, i.job_id, i.executions,
  v.records, v.bytes_written, l.lake_p50_ms, COALESCE(a.alerts, 0) AS alerts, a.alert_p50_ms
FROM volume AS v
LEFT JOIN identity AS i ON i.node_id = v.node_id
LEFT JOIN lake AS l ON l.node_id = v.node_id
LEFT JOIN alerted AS a ON a.node_id = v.node_id
ORDER BY v.node_id`,
  },
  {
    name: 'metrics_success',
    title: "The brief's five success metrics, each measured against the cloud-only baseline, with its target and pass/fail",
    kind: 'dashboard',
    sql: (d) => {
      const price = d.param(USD_PER_GB_PARAM);
      const p = (expr: string, q: number, location: string) => `(SELECT ${d.percentile(expr, q)} FROM alert_rows WHERE processing_location = '${location}')`;
      const agg = (col: string) => `(SELECT ${col} FROM same_rows_total WHERE stage = 'aggregated')`;
      return `WITH ${SAME_ROWS_CTES},
same_rows_total AS (
  SELECT e.stage, e.bytes_written, s.raw_bytes FROM edge AS e JOIN same_rows AS s ON s.stage = e.stage
),
${ALERT_LATENCY_CTES},
${GPS_CTES},
measured AS (
  SELECT 1 AS ordinal, 'Data reduction, raw → aggregated, same rows' AS metric,
    CAST(ROUND(100 * (1 - ${agg('bytes_written')} / NULLIF(${agg('raw_bytes')}, 0)), 1) AS DOUBLE) AS measured,
    '%' AS unit, CAST(90 AS DOUBLE) AS target, '>=' AS comparison,
    CAST(${agg('bytes_written')} AS DOUBLE) AS edge_figure, CAST(ROUND(${agg('raw_bytes')}) AS DOUBLE) AS baseline_figure, 'bytes' AS figure_unit,
    'bytes the aggregated stage wrote vs the bytes of the same rows in the ingestion format, as the cloud-only baseline shipped them' AS basis
  UNION ALL
  SELECT 2, 'Alert latency, edge vs cloud-only',
    CAST(ROUND(${p('latency_ms', 0.5, 'cloud')} / NULLIF(${p('latency_ms', 0.5, 'edge')}, 0), 1) AS DOUBLE),
    '×', CAST(10 AS DOUBLE), '>=',
    CAST(${p('latency_ms', 0.5, 'edge')} AS DOUBLE), CAST(${p('latency_ms', 0.5, 'cloud')} AS DOUBLE), 'ms',
    'p50 of event → alert over alert rows: at the edge vs detected centrally by the cloud-only baseline'
  UNION ALL
  SELECT 3, 'Transfer cost reduction vs shipping the raw rows',
    CAST(ROUND(100 * (1 - (${agg('bytes_written')} / 1e9 * ${price}) / NULLIF(${agg('raw_bytes')} / 1e9 * ${price}, 0)), 1) AS DOUBLE),
    '%', CAST(80 AS DOUBLE), '>=',
    CAST(ROUND(1000 * ${price} * ${agg('bytes_written')} / NULLIF(${agg('raw_bytes')}, 0), 2) AS DOUBLE), CAST(ROUND(1000 * ${price}, 2) AS DOUBLE), 'USD per TB of raw rows',
    CONCAT('egress of what the edge shipped for the rows it aggregated vs the same rows shipped raw: measured bytes at ', CAST(${price} AS STRING), ' USD/GB (requests and storage not included)')
  UNION ALL
  SELECT 4, 'GPS values fuzzed, every bucket',
    CAST(ROUND(100 * SUM(fuzzed) / NULLIF(SUM(positions), 0), 2) AS DOUBLE),
    '%', CAST(100 AS DOUBLE), '>=',
    CAST(SUM(fuzzed) AS DOUBLE), CAST(SUM(positions) AS DOUBLE), 'positions',
    'fuzzed positions / every position in every bucket (ingestion and validated keep true coordinates by design)'
  FROM gps
  UNION ALL
  SELECT 5, 'Event → alert at the edge, p99 (p50 beside it)',
    CAST(${p('latency_ms', 0.99, 'edge')} AS DOUBLE),
    'ms', CAST(${ALERT_TARGET_MS} AS DOUBLE), '<',
    CAST(${p('latency_ms', 0.5, 'edge')} AS DOUBLE), CAST(${p('latency_ms', 0.99, 'edge')} AS DOUBLE), 'ms (p50, p99)',
    'over every alert row with a plausible event time'
)
SELECT
  ordinal, metric, measured, unit, comparison, target,
  CASE
    WHEN measured IS NULL THEN 'no data'
    WHEN comparison = '<' AND measured < target THEN 'pass'
    WHEN comparison = '>=' AND measured >= target THEN 'pass'
    ELSE 'fail'
  END AS status,
  edge_figure, baseline_figure, figure_unit, basis
FROM measured
ORDER BY ordinal`;
    },
    lakeview: {
      page: 'metrics',
      widgets: [
        {
          kind: 'table',
          title: 'Success metrics: measured, target, pass/fail',
          order: -1,
          description: "The same query as the local report's and the demo's. 1–3 compare with the cloud-only baseline and say 'no data' until the lake holds its rows (the Volume page shows the reduction per source row without it)",
          columns: ['ordinal', 'metric', 'measured', 'unit', 'comparison', 'target', 'status', 'edge_figure', 'baseline_figure', 'figure_unit', 'basis'],
        },
      ],
    },
  },
];

/**
 * Every query rendered for Databricks and DuckDB. A query naming an unknown table or using a
 * parameter missing from {@link QUERY_PARAMS} is a RangeError naming it.
 */
export function renderedQueries(opts: RenderOptions = {}): RenderedQuery[] {
  const duck = duckdbDialect(opts.params);
  return QUERY_DEFS.map((q) => {
    const databricksSql = qualifyTables(q.sql(DATABRICKS), DATABRICKS);
    const used = paramMarkers(databricksSql);
    const unknown = used.filter((k) => !QUERY_PARAMS.some((p) => p.keyword === k));
    if (unknown.length) throw new RangeError(`query ${q.name} uses undeclared parameter(s) :${unknown.join(', :')}; declare them in QUERY_PARAMS`);
    return {
      name: q.name,
      title: q.title,
      kind: q.kind,
      databricksSql,
      duckdbSql: qualifyTables(q.sql(duck), duck),
      params: QUERY_PARAMS.filter((p) => used.includes(p.keyword)),
      ...(q.lakeview ? { lakeview: q.lakeview } : {}),
    };
  });
}
