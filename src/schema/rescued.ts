/**
 * Ingestion's rescue column in Parquet: `{"column": value as stored, …}` of what fits no typed
 * column (contract §4, the Auto Loader convention). In a file of its own, free of zod, because
 * the Parquet encoder in worker threads names it too.
 */
export const RESCUED_DATA_COLUMN = '_rescued_data';
