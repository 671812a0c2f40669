import { join } from 'node:path';
import { bucketName } from '../sink/key.ts';
import { DATASETS, DATASET_NAMES, PARTITION_COLUMNS, TABLE_SCHEMA, type DatasetName } from './datasets.ts';
import { datasetColumns, duckdbColumns, duckdbType } from './ddl.ts';

/**
 * DuckDB views that give a local lake folder (`--lake DIR`, layout `DIR/<bucket>/<key>`) the same
 * `sensor_data.<table>` names and column types as the Databricks tables, so every query in
 * `queries.ts` runs unchanged on a laptop.
 */

/** Where a lake is and how its buckets are named. */
export interface LakeLocation {
  /** The `--lake` folder. */
  readonly lake: string;
  /** Bucket prefix; default `expanso`. */
  readonly prefix?: string;
  /** Region suffix of the buckets; default `us-west-2`. */
  readonly region?: string;
}

/** The folder holding a dataset's objects: `<lake>/<bucket>/<dataset>`. */
export function datasetFolder(name: DatasetName, loc: LakeLocation): string {
  const spec = DATASETS[name];
  return join(loc.lake, bucketName(loc.prefix ?? 'expanso', spec.bucketStage, loc.region ?? 'us-west-2'), spec.dataset);
}

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * The `CREATE OR REPLACE VIEW sensor_data.<table>` statement for a dataset. With `hasFiles`
 * false it makes an empty view of the same columns, because `read_json` fails on a glob that
 * matches nothing (a stage that never ran); the caller checks the folder.
 */
export function duckdbViewSql(name: DatasetName, loc: LakeLocation, hasFiles: boolean): string {
  const { table } = DATASETS[name];
  const view = `${TABLE_SCHEMA}.${table}`;
  if (!hasFiles) {
    const cols = datasetColumns(name).map((c) => `CAST(NULL AS ${duckdbType(c.type)}) AS "${c.name}"`);
    for (const p of PARTITION_COLUMNS) cols.push(`CAST(NULL AS INTEGER) AS "${p}"`);
    return `CREATE OR REPLACE VIEW ${view} AS SELECT ${cols.join(', ')} WHERE false`;
  }
  const glob = join(datasetFolder(name, loc), '**', '*.jsonl.gz');
  const hiveTypes = `{${PARTITION_COLUMNS.map((p) => `'${p}': 'INTEGER'`).join(', ')}}`;
  return (
    // DuckDB appends hive columns alphabetically; list them in key order, as Databricks does.
    `CREATE OR REPLACE VIEW ${view} AS SELECT * EXCLUDE (${PARTITION_COLUMNS.join(', ')}), ${PARTITION_COLUMNS.join(', ')} ` +
    `FROM read_json(${sqlString(glob)}, ` +
    `format = 'newline_delimited', compression = 'gzip', hive_partitioning = true, hive_types = ${hiveTypes}, ` +
    `columns = ${duckdbColumns(name)})`
  );
}

/**
 * Every statement that prepares a DuckDB connection: the schema, then one view per dataset.
 * `hasFiles(folder)` says whether a dataset folder holds any object.
 */
export function duckdbSetupSql(loc: LakeLocation, hasFiles: (folder: string) => boolean): string[] {
  return [
    `CREATE SCHEMA IF NOT EXISTS ${TABLE_SCHEMA}`,
    ...DATASET_NAMES.map((n) => duckdbViewSql(n, loc, hasFiles(datasetFolder(n, loc)))),
  ];
}
