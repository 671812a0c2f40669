export { zstd, ZSTD_LEVEL, type Codec } from './codec.ts';
export { ParquetFile, SLICE_ROWS, type ParquetFileOptions } from './file.ts';
export { parquetSchema, type LeafSpec, type ParquetSchema, type SchemaNode } from './schema.ts';
export { shred, shredRecord, Template, type LeafSink } from './shred.ts';
export { recordsParquet } from './records.ts';
