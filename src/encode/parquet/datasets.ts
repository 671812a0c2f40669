import type { DatasetName } from '../../schema/datasets.ts';
import { PARQUET_COLUMNS } from './columns.generated.ts';
import { parquetSchema, type ParquetSchema, type SchemaNode } from './schema.ts';

/**
 * The Parquet schema of each dataset (src/schema/ddl.ts `datasetColumns(name, 'parquet')`, as
 * generated into columns.generated.ts so that workers need no zod), built once per thread.
 */
const cache = new Map<DatasetName, ParquetSchema>();

/** The Parquet schema of a dataset's objects. */
export function datasetParquetSchema(name: DatasetName): ParquetSchema {
  let s = cache.get(name);
  if (!s) cache.set(name, (s = parquetSchema(PARQUET_COLUMNS[name])));
  return s;
}

/** The top-level node of column `name` (RangeError when the schema has none). */
export function columnNode(schema: ParquetSchema, name: string): SchemaNode {
  const n = schema.columns.find((c) => c.name === name);
  if (!n) throw new RangeError(`parquet: the schema has no column ${JSON.stringify(name)}`);
  return n;
}
