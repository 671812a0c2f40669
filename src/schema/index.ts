export {
  PipelineStamp,
  IngestionRecord,
  ValidationError,
  Validation,
  ValidatedRecord,
  NodeSnapshot,
  BacalhauMetadata,
  Lineage,
  Privacy,
  EnrichedRecord,
  ALERT_PRIORITIES,
  AlertPriority,
  AggregatedRecord,
  AlertRecord,
  PipelineMetricsRecord,
  LatencyMetricsRecord,
} from './records.ts';
export { STAMP_TYPES, TYPED_COLUMNS, STORED_COLUMNS, COLUMN_DESCRIPTIONS } from './columns.ts';
export { DATASETS, DATASET_NAMES, TABLE_SCHEMA, PARTITION_COLUMNS, type DatasetName, type DatasetSpec } from './datasets.ts';
export { jsonSchemaOf, allJsonSchemas, type JsonSchema } from './json-schema.ts';
export { datasetColumns, databricksDdl, sparkType, duckdbColumns, duckdbType, type Column, type ColumnType } from './ddl.ts';
export { datasetUri, streamingTableSql, autoloaderNotebook, databricksFiles } from './databricks.ts';
export { DATABRICKS, DUCKDB, haversineMetersSql, EARTH_RADIUS_M, type SqlDialect } from './dialect.ts';
export { QUERY_DEFS, renderedQueries, EGRESS_USD_PER_GB, type QueryDef, type RenderedQuery } from './queries.ts';
export { datasetFolder, duckdbViewSql, duckdbSetupSql, type LakeLocation } from './duckdb.ts';
export { EXAMPLES } from './examples.ts';
