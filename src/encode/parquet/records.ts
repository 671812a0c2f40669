import type { Codec } from './codec.ts';
import { ParquetFile, SLICE_ROWS } from './file.ts';
import type { ParquetSchema } from './schema.ts';
import { shredRecord } from './shred.ts';

/**
 * A Parquet file of record objects (windows, alerts, metrics: few records per object), each
 * shaped as its dataset's zod schema says; members the schema lacks are a bug of the caller and
 * rejected, members a record lacks are null.
 */
export function recordsParquet(schema: ParquetSchema, records: readonly Readonly<Record<string, unknown>>[], opts: { codec: Codec; createdBy: string }): Uint8Array {
  const known = new Set(schema.columns.map((c) => c.name));
  const file = new ParquetFile(schema, opts);
  let inSlice = 0;
  for (const r of records) {
    for (const k of Object.keys(r)) if (!known.has(k)) throw new RangeError(`parquet: record member ${JSON.stringify(k)} is not a column of the dataset (columns: ${[...known].join(', ')})`);
    shredRecord(file, r);
    if (++inSlice === SLICE_ROWS) {
      file.endSlice(inSlice);
      inSlice = 0;
    }
  }
  file.endSlice(inSlice);
  return file.finish();
}
