/**
 * The only SQL differences between Databricks and the local DuckDB preview that the demo and
 * dashboard queries need. Everything else (struct access `a.b.c`, `count_if`, `max_by`,
 * `date_trunc('minute', ts)`, `GROUP BY ALL`, `INTERVAL 1 HOUR`, trigonometry) is written once.
 */
export interface SqlDialect {
  readonly name: 'databricks' | 'duckdb';
  /** Exact percentile `p` (0..1) of `expr` over the group. */
  percentile(expr: string, p: number): string;
  /** The current time as a TIMESTAMP comparable with the tables' (UTC) TIMESTAMP columns. */
  readonly now: string;
}

/** Databricks SQL (Spark): `percentile`, `current_timestamp()`. */
export const DATABRICKS: SqlDialect = {
  name: 'databricks',
  percentile: (expr, p) => `percentile(${expr}, ${p})`,
  now: 'current_timestamp()',
};

/** DuckDB: `quantile_cont`; `now()` is TIMESTAMPTZ there, cast to the naive UTC TIMESTAMP the views hold. */
export const DUCKDB: SqlDialect = {
  name: 'duckdb',
  percentile: (expr, p) => `quantile_cont(${expr}, ${p})`,
  now: 'CAST(now() AS TIMESTAMP)',
};

/** Mean Earth radius in metres (IUGG), for haversine distances. */
export const EARTH_RADIUS_M = 6_371_008.8;

/**
 * Great-circle distance in metres between two positions in decimal degrees (haversine): unlike
 * `111111 * sqrt(dlat² + dlon²)` it shrinks longitude differences by cos(latitude).
 */
export function haversineMetersSql(lat1: string, lon1: string, lat2: string, lon2: string): string {
  return (
    `2 * ${EARTH_RADIUS_M} * asin(sqrt(` +
    `power(sin(radians(${lat2} - ${lat1}) / 2), 2) + ` +
    `cos(radians(${lat1})) * cos(radians(${lat2})) * power(sin(radians(${lon2} - ${lon1}) / 2), 2)))`
  );
}
