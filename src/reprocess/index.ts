export { reprocess, type ReprocessSummary } from './run.ts';
export { parseReprocessOptions, ReprocessOptionsSchema, defaultRunName, type ReprocessOptions } from './options.ts';
export { partitionOf } from './plan.ts';
export { reprocessKeyNode } from './adapter.ts';
export { manifestKey, type ReprocessManifest } from './manifest.ts';
