import { join } from 'node:path';
import { DATASETS, DATASET_NAMES, PARTITION_COLUMNS, TABLE_SCHEMA, type DatasetName } from '../schema/datasets.ts';
import { datasetColumns, duckdbType, RESCUED_DATA_COLUMN } from '../schema/ddl.ts';
import { datasetFolder, duckdbViewSql, type LakeLocation } from '../schema/duckdb.ts';
import { FORMAT_EXTENSION, type OutputFormat } from '../sink/key.ts';

/**
 * The `sensor_data.<table>` views of a lake folder that may hold either format or both (`run
 * --format jsonl|parquet`, even switched between runs): each view reads the dataset's
 * `*.jsonl.gz` objects (src/schema/duckdb.ts), its `*.parquet` objects, or both unioned by column
 * name, always with the table's column types, so every query runs unchanged.
 *
 * Parquet holds timestamps as instants (TIMESTAMP WITH TIME ZONE in DuckDB): the views cast them
 * to the naive UTC TIMESTAMP the JSON views hold, under the session time zone UTC that
 * {@link lakeViewsSql} sets. Ingestion is typed in Parquet (values that fit no column in
 * `_rescued_data`): read alone, its view has those typed columns; beside JSON Lines objects, its
 * Parquet rows are shown in the JSON view's columns, each value as the text JSON Lines holds
 * (the rescued value where the typed column is null), so both kinds of rows look alike.
 */

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const HIVE = `hive_partitioning = true, hive_types = {${PARTITION_COLUMNS.map((p) => `'${p}': 'INTEGER'`).join(', ')}}`;

/** The Parquet objects of a dataset as rows of its table columns (`format`'s), partition columns last. */
function parquetSelect(name: DatasetName, loc: LakeLocation, as: OutputFormat): string {
  const glob = join(datasetFolder(name, loc), '**', `*${FORMAT_EXTENSION.parquet}`);
  const own = new Map(datasetColumns(name, 'parquet').map((c) => [c.name, c]));
  const cols = datasetColumns(name, as).map((c) => {
    const q = `"${c.name}"`;
    const stored = own.get(c.name);
    // Ingestion beside JSON Lines: a typed value as the text JSON Lines holds (integers without ".0"), else the rescued one.
    if (as === 'jsonl' && name === 'ingestion' && stored && stored.type.kind !== c.type.kind) {
      const text = stored.type.kind === 'double' ? `CASE WHEN ${q} = trunc(${q}) AND abs(${q}) < 1e15 THEN CAST(CAST(${q} AS BIGINT) AS VARCHAR) ELSE CAST(${q} AS VARCHAR) END` : `CAST(${q} AS VARCHAR)`;
      return `COALESCE(${text}, json_extract_string("${RESCUED_DATA_COLUMN}", ${sqlString('$.' + JSON.stringify(c.name))})) AS ${q}`;
    }
    return `CAST(${q} AS ${duckdbType(c.type)}) AS ${q}`;
  });
  return `SELECT ${cols.join(', ')}, ${PARTITION_COLUMNS.join(', ')} FROM read_parquet(${sqlString(glob)}, union_by_name = true, ${HIVE})`;
}

/** The view of one dataset given which formats its folder holds. */
export function lakeViewSql(name: DatasetName, loc: LakeLocation, has: Readonly<Record<OutputFormat, boolean>>): string {
  if (!has.parquet) return duckdbViewSql(name, loc, has.jsonl);
  const view = `${TABLE_SCHEMA}.${DATASETS[name].table}`;
  if (!has.jsonl) return `CREATE OR REPLACE VIEW ${view} AS ${parquetSelect(name, loc, 'parquet')}`;
  const json = duckdbViewSql(name, loc, true).replace(/^CREATE OR REPLACE VIEW \S+ AS /, '');
  return `CREATE OR REPLACE VIEW ${view} AS ${json} UNION ALL BY NAME ${parquetSelect(name, loc, 'jsonl')}`;
}

/**
 * Every statement that prepares a DuckDB connection over a lake of either format: the session
 * time zone (UTC: see the file comment), the schema, then one view per dataset. `has(folder, ext)`
 * says whether a dataset folder holds an object ending in `ext`.
 */
export function lakeViewsSql(loc: LakeLocation, has: (folder: string, extension: string) => boolean): string[] {
  return [
    `SET TimeZone = 'UTC'`,
    `CREATE SCHEMA IF NOT EXISTS ${TABLE_SCHEMA}`,
    ...DATASET_NAMES.map((n) => {
      const folder = datasetFolder(n, loc);
      return lakeViewSql(n, loc, { jsonl: has(folder, FORMAT_EXTENSION.jsonl), parquet: has(folder, FORMAT_EXTENSION.parquet) });
    }),
  ];
}
