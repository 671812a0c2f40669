import { DATASETS, TABLE_SCHEMA } from './datasets.ts';

/**
 * The only SQL differences between Databricks and the local DuckDB preview that the demo and
 * dashboard queries need. Everything else (struct access `a.b.c`, `count_if`, `max_by`,
 * `date_trunc('minute', ts)`, `GROUP BY ALL`, `INTERVAL 1 HOUR`, `IS NOT DISTINCT FROM`,
 * trigonometry) is written once.
 *
 * Tables: a query names a table by its logical name `sensor_data.<table>` (exactly the local
 * DuckDB views). Databricks keeps the tables in a Unity Catalog schema chosen at install time, so
 * its rendering turns each logical name into `IDENTIFIER(:catalog || '.' || :schema || '.<table>')`,
 * a table reference built from the `catalog` and `schema` named parameter markers, which the
 * SQL editor and AI/BI dashboards both fill in (see databricks/README.md).
 */
export interface SqlDialect {
  readonly name: 'databricks' | 'duckdb';
  /** Exact percentile `p` (0..1) of `expr` over the group (linear interpolation between rows). */
  percentile(expr: string, p: number): string;
  /** The current time as a TIMESTAMP comparable with the tables' (UTC) TIMESTAMP columns. */
  readonly now: string;
  /** One output row per element of the array `expr` (a generator in the select list). */
  explode(expr: string): string;
  /** The value of a query parameter: a named parameter marker on Databricks, a literal locally. */
  param(p: QueryParam): string;
  /** The physical reference of a logical table name of {@link TABLE_NAMES}. */
  table(name: string): string;
}

/** A value a person sets when running a query (a dashboard parameter on Databricks). */
export interface QueryParam {
  /** Marker name, `[a-z_][a-z0-9_]*`, e.g. `usd_per_gb` (written `:usd_per_gb`). */
  readonly keyword: string;
  /** What it means, with its unit, for the parameter widget. */
  readonly title: string;
  /** Lakeview parameter data type. */
  readonly type: 'STRING' | 'DECIMAL' | 'INTEGER';
  /** Default value, used locally and as the dashboard's default selection. */
  readonly default: string | number;
}

/** Unity Catalog catalog holding the tables: `:catalog`. Default `main`. */
export const CATALOG_PARAM: QueryParam = { keyword: 'catalog', title: 'Unity Catalog catalog of the edgelake tables', type: 'STRING', default: 'main' };
/** Schema holding the tables inside the catalog: `:schema`. Default `sensor_data`. */
export const SCHEMA_PARAM: QueryParam = { keyword: 'schema', title: 'Schema of the edgelake tables inside the catalog', type: 'STRING', default: TABLE_SCHEMA };

/** Table names inside {@link TABLE_SCHEMA}, one per dataset. */
export const TABLE_NAMES: readonly string[] = Object.values(DATASETS).map((d) => d.table);

/** Databricks SQL (Spark): `percentile`, `current_timestamp()`, `explode`, `:name` markers, IDENTIFIER tables. */
export const DATABRICKS: SqlDialect = {
  name: 'databricks',
  percentile: (expr, p) => `percentile(${expr}, ${p})`,
  now: 'current_timestamp()',
  explode: (expr) => `explode(${expr})`,
  param: (p) => `:${p.keyword}`,
  table: (name) => `IDENTIFIER(:${CATALOG_PARAM.keyword} || '.' || :${SCHEMA_PARAM.keyword} || '.${checkTable(name)}')`,
};

/**
 * DuckDB with the given parameter values (keyword → value; absent ones take their default):
 * `quantile_cont`, `now()` cast to the naive UTC TIMESTAMP the views hold, `unnest`, literals,
 * and the `sensor_data.<table>` views themselves.
 */
export function duckdbDialect(values: Readonly<Record<string, string | number>> = {}): SqlDialect {
  return {
    name: 'duckdb',
    percentile: (expr, p) => `quantile_cont(${expr}, ${p})`,
    now: 'CAST(now() AS TIMESTAMP)',
    explode: (expr) => `unnest(${expr})`,
    param: (p) => sqlLiteral(p, values[p.keyword] ?? p.default),
    table: (name) => `${TABLE_SCHEMA}.${checkTable(name)}`,
  };
}

/** DuckDB with every parameter at its default. */
export const DUCKDB: SqlDialect = duckdbDialect();

const LOGICAL_TABLE = new RegExp(`\\b${TABLE_SCHEMA}\\.([A-Za-z_][A-Za-z0-9_]*)(\\.)?`, 'g');

/**
 * Rewrites every logical table name `sensor_data.<table>` of `sql` into the dialect's reference.
 * An unknown table, or a name used as a column qualifier (`sensor_data.alerts.id`), is a
 * RangeError: alias the table instead.
 */
export function qualifyTables(sql: string, d: SqlDialect): string {
  return sql.replace(LOGICAL_TABLE, (_m, table: string, dot: string | undefined) => {
    if (dot) throw new RangeError(`${TABLE_SCHEMA}.${table}. qualifies a column with a table name; give the table an alias instead`);
    return d.table(table);
  });
}

/**
 * The named parameter markers (`:keyword`) of Databricks SQL, each once, in order of first use.
 * String literals, quoted identifiers and `--` comments are skipped, and so are `::` casts.
 */
export function paramMarkers(sql: string): string[] {
  const code = sql.replace(/'(?:[^']|'')*'|`[^`]*`|--[^\n]*/g, ' ');
  const seen: string[] = [];
  for (const m of code.matchAll(/(?<![:\w]):([A-Za-z_][A-Za-z0-9_]*)/g)) if (!seen.includes(m[1])) seen.push(m[1]);
  return seen;
}

function checkTable(name: string): string {
  if (!TABLE_NAMES.includes(name)) throw new RangeError(`unknown table ${TABLE_SCHEMA}.${name}; known: ${TABLE_NAMES.join(', ')}`);
  return name;
}

/** A parameter value as a SQL literal of its type; a value that does not fit is a RangeError naming it. */
export function sqlLiteral(p: QueryParam, value: string | number): string {
  if (p.type === 'STRING') return `'${String(value).replace(/'/g, "''")}'`;
  const n = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(n) || (p.type === 'INTEGER' && !Number.isInteger(n)) || String(value).trim() === '') {
    throw new RangeError(`parameter :${p.keyword} must be ${p.type === 'INTEGER' ? 'an integer' : 'a number'}, got ${JSON.stringify(value)}`);
  }
  return String(n);
}

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
