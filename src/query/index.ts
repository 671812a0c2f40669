export { openQueryEngine, QueryEngine, knownQueries, queryByName, hasObjects, type Cell, type Row, type QueryResult, type NamedResult } from './engine.ts';
export { syncS3Cache, type S3CacheOptions, type S3CacheSummary } from './cache.ts';
export { formatTable, formatNamed, formatJson, formatCell, type TableFormatOptions } from './format.ts';
export { resolveLake, LakeSourceFields, type LakeSourceOptions, type ResolvedLake } from './source.ts';
export { adaptDatabricksSql, isDatabricksSql } from './adapt.ts';
