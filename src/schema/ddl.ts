import { jsonSchemaOf } from './json-schema.ts';
import { PARTITION_COLUMNS, type DatasetName } from './datasets.ts';
import type { OutputFormat } from '../sink/key.ts';
import { READING_COLUMNS } from '../source/schema.ts';
import { RESCUED_DATA_COLUMN } from './rescued.ts';

/**
 * Table schemas for the lakehouse side, derived from the JSON Schema of each dataset (itself
 * generated from the zod schemas), so Databricks and the DuckDB preview can never drift from
 * what the edge writes.
 *
 * Mapping: integer → BIGINT, number → DOUBLE, boolean → BOOLEAN, string with format date-time →
 * TIMESTAMP, other strings / enums / literals → STRING, arrays → ARRAY, objects → STRUCT; null in
 * a type only makes the column nullable; a union of several non-null types (ingestion's
 * "number or text as stored") → STRING, which both readers fill with the value's JSON text.
 *
 * Parquet (`--format parquet`) has the same columns, with one exception: ingestion's, which in
 * Parquet are typed as the source table declares them (REAL → DOUBLE, INTEGER → BIGINT, TEXT →
 * STRING) with a `_rescued_data` STRING column last for every value that does not fit its type
 * and every extra table column, as a JSON object text (contract §4, the Auto Loader convention).
 */

/** The part of a JSON Schema node this mapping reads. */
interface Node {
  type?: string | string[];
  format?: string;
  anyOf?: Node[];
  items?: Node;
  properties?: Record<string, Node>;
  enum?: unknown[];
  const?: unknown;
}

/** A column type, dialect-neutral. */
export type ColumnType =
  | { kind: 'bigint' | 'double' | 'boolean' | 'timestamp' | 'string' }
  | { kind: 'array'; of: ColumnType }
  | { kind: 'struct'; fields: Column[] };

/** One named column (or struct field). */
export interface Column {
  readonly name: string;
  readonly type: ColumnType;
}

function nonNullTypes(node: Node): Node[] {
  if (node.anyOf) return node.anyOf.filter((n) => n.type !== 'null').flatMap(nonNullTypes);
  if (Array.isArray(node.type)) return node.type.filter((t) => t !== 'null').map((type) => ({ ...node, type }));
  return [node];
}

function columnType(node: Node, path: string): ColumnType {
  const variants = nonNullTypes(node);
  if (variants.length !== 1) return { kind: 'string' };
  const n = variants[0];
  switch (n.type) {
    case 'integer':
      return { kind: 'bigint' };
    case 'number':
      return { kind: 'double' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'string':
      return { kind: n.format === 'date-time' ? 'timestamp' : 'string' };
    case 'array':
      if (!n.items) throw new RangeError(`schema ${path}: array without items`);
      return { kind: 'array', of: columnType(n.items, `${path}[]`) };
    case 'object':
      return { kind: 'struct', fields: columnsOf(n, path) };
    default:
      throw new RangeError(`schema ${path}: no table type for JSON Schema type ${JSON.stringify(n.type)}`);
  }
}

function columnsOf(node: Node, path: string): Column[] {
  return Object.entries(node.properties ?? {}).map(([name, child]) => ({
    name,
    type: columnType(child, path ? `${path}.${name}` : name),
  }));
}

export { RESCUED_DATA_COLUMN } from './rescued.ts';

const SOURCE_KIND: Readonly<Record<string, ColumnType>> = Object.fromEntries(
  READING_COLUMNS.map((c) => [c.name, { kind: c.kind === 'int' ? 'bigint' : c.kind === 'real' ? 'double' : 'string' }]),
);

/** The columns of a dataset's records in `format` (default jsonl), in record field order, without partition columns. */
export function datasetColumns(name: DatasetName, format: OutputFormat = 'jsonl'): Column[] {
  const cols = columnsOf(jsonSchemaOf(name) as Node, '');
  if (format !== 'parquet' || name !== 'ingestion') return cols;
  return [...cols.map((c) => (SOURCE_KIND[c.name] ? { name: c.name, type: SOURCE_KIND[c.name] } : c)), { name: RESCUED_DATA_COLUMN, type: { kind: 'string' } }];
}

const SPARK: Record<'bigint' | 'double' | 'boolean' | 'timestamp' | 'string', string> = {
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  string: 'STRING',
};

/** A Spark / Databricks SQL type, e.g. `STRUCT<\`city\`: STRING>`. */
export function sparkType(t: ColumnType): string {
  if (t.kind === 'array') return `ARRAY<${sparkType(t.of)}>`;
  if (t.kind === 'struct') return `STRUCT<${t.fields.map((f) => `\`${f.name}\`: ${sparkType(f.type)}`).join(', ')}>`;
  return SPARK[t.kind];
}

/**
 * The DDL column list Databricks' `read_files(schema => …)` / Auto Loader `.schema(…)` takes for a
 * dataset, one column per line, ending with the hive partition columns (INT, read from the path).
 */
export function databricksDdl(name: DatasetName, format: OutputFormat = 'jsonl'): string {
  const cols = datasetColumns(name, format).map((c) => `\`${c.name}\` ${sparkType(c.type)}`);
  for (const p of PARTITION_COLUMNS) cols.push(`\`${p}\` INT`);
  return cols.join(',\n');
}

const DUCK: Record<'bigint' | 'double' | 'boolean' | 'timestamp' | 'string', string> = {
  bigint: 'BIGINT',
  double: 'DOUBLE',
  boolean: 'BOOLEAN',
  timestamp: 'TIMESTAMP',
  string: 'VARCHAR',
};

/** A DuckDB type, e.g. `STRUCT("city" VARCHAR)` or `VARCHAR[]`. */
export function duckdbType(t: ColumnType): string {
  if (t.kind === 'array') return `${duckdbType(t.of)}[]`;
  if (t.kind === 'struct') return `STRUCT(${t.fields.map((f) => `"${f.name}" ${duckdbType(f.type)}`).join(', ')})`;
  return DUCK[t.kind];
}

/** The `columns={…}` argument of DuckDB's `read_json` for a dataset (partition columns come from hive_partitioning). */
export function duckdbColumns(name: DatasetName, format: OutputFormat = 'jsonl'): string {
  return `{${datasetColumns(name, format)
    .map((c) => `'${c.name}': '${duckdbType(c.type).replace(/'/g, "''")}'`)
    .join(', ')}}`;
}

/**
 * The event-time column each table is clustered on (with the node), so time filters prune files.
 * It is moved right after `_node_id` at the front of the table, because liquid clustering keys
 * need file statistics and Delta collects them for the first 32 columns only.
 */
export const CLUSTER_TIME_COLUMN: Readonly<Record<DatasetName, string>> = {
  ingestion: 'timestamp',
  validated: 'timestamp',
  enriched: 'timestamp',
  aggregated: 'window_start',
  alerts: 'event_time',
  pipeline_metrics: 'timestamp',
  latency_metrics: 'timestamp',
};

/** Liquid clustering keys of a dataset's table: the processing node (from `_pipeline.node_id`) and the event time. */
export function clusterColumns(name: DatasetName): [string, string] {
  return ['_node_id', CLUSTER_TIME_COLUMN[name]];
}
